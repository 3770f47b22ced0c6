"""Public feeds of help posts: RSS 2.0 (`rss`), Atom 1.0 (`atom`) and iCalendar (`ical`).

`items` turns what `node.services.feeds` loads into entries with their texts, labels and
links worked out once; the format modules only write those entries down, as bytes.
"""
