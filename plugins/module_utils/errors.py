# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The one exception type of the collection: any failure talking to PVE, or input PVE would refuse.

Everything that fails in an expected way raises ``PveError``; modules turn it into one line
(``fail_json(msg=str(exc))``) so no traceback reaches a user.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PveError(Exception):
    """Any failure talking to PVE, as one line a person can act on.

    ``status`` is the HTTP status (None when no answer came), ``message`` PVE's own
    message and ``errors`` its per-field messages (``{'memory': 'value must ...'}``).
    """

    def __init__(self, message, status=None, errors=None, method=None, path=None):
        super(PveError, self).__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}
        self.method = method
        self.path = path

    def __str__(self):
        text = self.message.strip()
        if self.status is not None and self.path:
            text = 'PVE API error {0} on {1} {2}: {3}'.format(self.status, self.method, self.path, text)
        if self.errors:
            text += ' ' + '; '.join('{0}: {1}'.format(k, str(v).strip()) for k, v in sorted(self.errors.items()))
        return ' '.join(text.split())

    def to_result(self):
        """The error as plain data for a module result."""
        return dict(status=self.status, message=self.message.strip(), errors=self.errors)
