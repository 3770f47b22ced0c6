"""What to tell someone when looking up another server's address failed, by the reason
`federation.lookup.LookupFailed` gives: the same words on the residents' pages (follow,
authorise) and in /admin (partner nodes). Pages override what they say differently."""

from node.i18n import N_

LOOKUP_FAILURES = {
    "blocked": N_("This node does not exchange messages with that server."),
    "refused": N_("That server cannot be contacted from this node."),
    "unreachable": N_("That server could not be reached. Please try again later."),
    "timeout": N_("That server took too long to answer. Please try again in a moment."),
    "not_found": N_("That server does not know this address."),
    "no_template": N_("That server gave an answer this node cannot use."),
    "not_actor": N_("There is nothing to follow at this address."),
}
