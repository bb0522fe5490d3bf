"""PVE's `pve-calendar-event` format check, with PVE's wording, for the fake's backup jobs.

pve-common ``src/PVE/CalendarEvent.pm`` trims the text, refuses an empty one, and hands it to
``Proxmox::RS::CalendarEvent`` (proxmox-rs ``proxmox-time/src/calendar_event.rs``, a nom parser,
with ``week_days.rs`` and ``parse_helpers.rs``). This follows that parser step by step: a
trailing ``UTC``; a keyword (``daily``, ``weekly``, ...) or a weekday list; an optional date
``[YEARS-]MONTHS-DAYS``; an optional time ``[HOURS:]MINUTES[:SECONDS]``; at least one of the
three, and nothing left over. Values are ``*``, ``*/R``, or comma lists of ``V``, ``V/R``,
``A..B`` and ``A..B/R``, each below its field's bound (24, 60, 60; 2200, 13, 32). Where nom
tries an alternative and backtracks, so does this (``25:00`` is minute 25, second 0).

Kept separate from the collection's own validator (plugins/module_utils/calendar.py) on
purpose: the tests compare the two.
"""

import re

KEYWORDS = ('minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually',
            'semi-annually')
WEEKDAYS = {'mon': 0, 'monday': 0, 'tue': 1, 'tuesday': 1, 'wed': 2, 'wednesday': 2, 'thu': 3, 'thursday': 3,
            'fri': 4, 'friday': 4, 'sat': 5, 'saturday': 5, 'sun': 6, 'sunday': 6}
U32_MAX = 2 ** 32 - 1


class NomError(Exception):
    """A nom parse error: where it stopped and the kind, as proxmox-time's parse_complete_line shows it."""

    def __init__(self, rest, kind):
        super().__init__(rest, kind)
        self.rest = rest
        self.kind = kind


def _number(i, bound):
    """parse_time_comp: digits, then the bound check."""
    found = re.match(r'[0-9]+', i)
    if not found:
        raise NomError(i, 'Nom(Digit)')
    value = int(found.group())
    if value > U32_MAX:
        raise NomError(i, 'Nom(MapRes)')
    rest = i[found.end():]
    if value >= bound:
        raise NomError(rest, 'Context("time value too large")')
    return rest, value


def _component(i, bound):
    """parse_date_time_comp: V, V/R, A..B, A..B/R."""
    i, value = _number(i, bound)
    if i.startswith('..'):
        try:
            rest, end = _number(i[2:], bound)
        except NomError:
            rest = None  # opt(): no range after all
        if rest is not None:
            if value > end:
                raise NomError(rest, 'Context("range start is bigger than end")')
            if rest.startswith('/'):
                return _number(rest[1:], bound)[0]
            return rest
    if i.startswith('/'):
        return _number(i[1:], bound)[0]
    return i


def _separated(i, element):
    """nom 5 separated_nonempty_list(tag(","), element): an element must come first; a failing one after a
    comma ends the list before that comma."""
    i = element(i)
    while i.startswith(','):
        try:
            i = element(i[1:])
        except NomError:
            break
    return i


def _values(i, bound):
    """parse_date_time_comp_list: ``*``, ``*/R`` (R above 0) or a list of components."""
    if i.startswith('*'):
        rest = i[1:]
        if rest.startswith('/'):
            after, repeat = _number(rest[1:], bound)
            if repeat > 0:
                return after
        return rest
    return _separated(i, lambda s: _component(s, bound))


def _space(i):
    return i.lstrip(' \t')


def _weekday(i):
    found = re.match(r'[A-Za-z]+', i)
    if not found:
        raise NomError(i, 'Nom(Alpha)')
    if found.group().lower() not in WEEKDAYS:
        raise NomError(found.group(), 'Context("weekday")')
    return i[found.end():]


def _weekday_range(i):
    i = _weekday(i)
    if i.startswith('..'):
        try:
            return _weekday(i[2:])
        except NomError:
            pass
    return i


def _date(i):
    try:
        i2 = _values(i, 2200)
        if not i2.startswith('-'):
            raise NomError(i2, 'Nom(Tag)')
        i2 = _values(i2[1:], 13)
        if not i2.startswith('-'):
            raise NomError(i2, 'Nom(Tag)')
        return _values(i2[1:], 32)
    except NomError:
        pass
    try:
        i2 = _values(i, 13)
        if not i2.startswith('-'):
            raise NomError(i2, 'Nom(Tag)')
        return _values(i2[1:], 32)
    except NomError:
        raise NomError(i, 'Context("invalid date spec")') from None


def _time(i):
    try:
        rest = _values(i, 24)
        if rest.startswith(':'):
            i = rest[1:]
    except NomError:
        pass
    i = _values(i, 60)
    if i.startswith(':'):
        try:
            i = _values(i[1:], 60)
        except NomError:
            pass
    return i


def _event(i):
    """parse_calendar_event_incomplete, then all_consuming."""
    if i.endswith('UTC'):
        i = i[:-3].rstrip(' ')
    seen = False
    if i[:1].isascii() and i[:1].isalpha():
        if i in KEYWORDS:
            return
        i = _space(_separated(i, _weekday_range))
        seen = True
    try:
        i = _space(_date(i))
        seen = True
    except NomError:
        pass
    try:
        i = _time(i)
        seen = True
    except NomError:
        pass
    if not seen:
        raise NomError(i, 'Context("date or time specification")')
    if i:
        raise NomError(i, 'Nom(Eof)')


def calendar_event_error(text):
    """None if PVE takes ``text`` as a calendar event, else PVE's message (pve_verify_calendar_event)."""
    event = str(text).strip()
    if not event:
        why = 'unable to parse calendar event - event is empty'
    else:
        try:
            _event(event)
            return None
        except NomError as exc:
            why = "unable to parse calendar event at '{0}' - {1}".format(exc.rest, exc.kind)
    return "invalid calendar event '{0}' - {1}".format(text, why)
