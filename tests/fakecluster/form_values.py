"""Empty form values reach PVE's handlers as the empty string.

PVE's API server hands ``email=`` to the handler as ``''`` (pve-access-control User.pm clears a
user's email, names or comment that way, and its ``email-opt`` format exists to accept it; pve-manager
Pool.pm and Backup.pm clear a comment the same way). fakepve's form parsing drops empty values, so
such a request would change nothing. For the endpoints listed here, the empty values are put back.
"""

import urllib.parse

KEEP_EMPTY = ('/access/users', '/access/users/{userid}', '/access/users/{userid}/token/{tokenid}',
              '/access/groups', '/access/groups/{groupid}', '/cluster/backup', '/cluster/backup/{id}', '/pools',
              '/pools/{poolid}')


class EmptyFormValues(object):
    """Mixin of FakePve: empty form values kept for KEEP_EMPTY."""

    async def answer(self, request, match, params, user, call=None):
        if call is not None and match is not None and match.template in KEEP_EMPTY \
                and request.method in ('POST', 'PUT') and request.content_type == 'application/x-www-form-urlencoded':
            body = (await request.read()).decode(errors='replace')
            params = dict(params)
            for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
                if value == '':
                    params.setdefault(key, '')
        return await super().answer(request, match, params, user, call)
