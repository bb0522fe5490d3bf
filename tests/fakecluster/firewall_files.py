"""The firewall config as PVE reads it back from its .fw files.

fakepve keeps firewall rules, aliases and IP sets as they were sent. PVE writes each change
to /etc/pve/firewall/*.fw and every read parses the file again (pve-firewall
src/PVE/Firewall.pm: `$format_rules`, `$format_aliases`, `$format_ipsets` write;
`parse_fw_rule`, `parse_alias`, `parse_ip_or_cidr` read), so what a client reads back is
rewritten:

- a rule's `enable` is 0 or 1 (`|` in front of a disabled rule, nothing otherwise);
- a comment loses surrounding white space, and a blank one is gone;
- a `group` rule keeps only its group, `iface`, `enable` and comment (source, dest, proto,
  ports, log and icmp-type are not written for it);
- an alias's `/32` (IPv4) or `/128` (IPv6) prefix is dropped;
- an IP set's entries come back sorted by their address text.

Positions (`moveto`, inserts at the top whatever `pos` says), digests and their refusal
(`detected modified configuration - file changed by other user? Try again.`) are fakepve's
and follow src/PVE/API2/Firewall/Rules.pm already.
"""

import re

GROUP_RULE_KEYS = ('type', 'action', 'iface', 'enable', 'comment')


def clean_comment(entry):
    comment = str(entry.get('comment') or '').strip()
    if comment:
        entry['comment'] = comment
    else:
        entry.pop('comment', None)
    return entry


def reread_rule(rule):
    """A rule as parse_fw_rule reads what $format_rules wrote."""
    rule['enable'] = 0 if rule.get('enable') is not None and not int(rule['enable']) else 1
    if rule.get('type') == 'group':
        for key in [k for k in rule if k not in GROUP_RULE_KEYS]:
            del rule[key]
    return clean_comment(rule)


def reread_cidr(cidr):
    """parse_ip_or_cidr: a single address loses its full-length prefix."""
    return re.sub(r'/128$', '', cidr) if ':' in cidr else re.sub(r'/32$', '', cidr)


class FirewallFiles(object):
    """Mixin of FakePve (in front of fakepve's FirewallApi): each write reads back as PVE's parser would."""

    def _reread_rules(self, scope, v):
        for rule in self._rules_of(scope, v)[1]:
            reread_rule(rule)

    async def _fw_rule_create(self, scope, v, user):
        result = await super()._fw_rule_create(scope, v, user)
        self._reread_rules(scope, v)
        return result

    async def _fw_rule_update(self, scope, v, user):
        result = await super()._fw_rule_update(scope, v, user)
        self._reread_rules(scope, v)
        return result

    def _reread_aliases(self, scope, v):
        for entry in self.firewall_config(scope, v.get('node'), v.get('vmid'))['aliases'].values():
            entry['cidr'] = reread_cidr(entry['cidr'])
            clean_comment(entry)

    async def _fw_alias_create(self, scope, v, user):
        result = await super()._fw_alias_create(scope, v, user)
        self._reread_aliases(scope, v)
        return result

    async def _fw_alias_update(self, scope, v, user):
        result = await super()._fw_alias_update(scope, v, user)
        self._reread_aliases(scope, v)
        return result

    def _reread_ipset(self, scope, v):
        entries = self.firewall_config(scope, v.get('node'), v.get('vmid'))['ipset'].get(v['name'])
        if entries is not None:
            for entry in entries:
                clean_comment(entry)
                if not entry.get('nomatch'):
                    entry.pop('nomatch', None)
            entries.sort(key=lambda entry: entry['cidr'])

    async def _fw_ip_create(self, scope, v, user):
        result = await super()._fw_ip_create(scope, v, user)
        self._reread_ipset(scope, v)
        return result

    async def _fw_ip_update(self, scope, v, user):
        result = await super()._fw_ip_update(scope, v, user)
        self._reread_ipset(scope, v)
        return result
