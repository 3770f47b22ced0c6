"""The HTML shell that the residents' pages (`web`) and the dashboards (`admin`) share.

Sessions and the logged-in viewer, CSRF tokens, reading posted forms, rendering
templates in the visitor's language, error pages and the anonymous page cache. It
imports only `node`, so `admin` can use it without reaching into the residents' pages.
"""
