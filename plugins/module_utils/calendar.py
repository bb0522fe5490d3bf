# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""PVE's calendar events (a backup job's ``schedule``), read as PVE reads them.

PVE checks ``schedule`` with pve-common's PVE::CalendarEvent, which trims the text and hands it to
proxmox-time's parser (a systemd-like format, not all of systemd's). Its grammar::

    [WEEKDAYS] [[YEARS-]MONTHS-DAYS] [[HOURS:]MINUTES[:SECONDS]] [UTC]

or one keyword (``minutely``, ``hourly``, ``daily``, ``weekly``, ``monthly``, ``yearly``/``annually``,
``quarterly``, ``semiannually``/``semi-annually``), optionally followed by ``UTC``. Weekdays are
``mon``..``sun`` or their full names, any case, as a comma list of days and ``a..b`` ranges (a
range may wrap: ``fri..mon``). Each date or time field is ``*``, ``*/R`` or a comma list of
``V``, ``V/R``, ``A..B`` and ``A..B/R``, below the field's bound (years 2200, months 13, days 32,
hours 24, minutes and seconds 60). One number alone is minutes; ``H:M`` is hours and minutes.
At least one part must be there and nothing may be left over. Like PVE's parser, a reading that
fails is dropped for the next one: ``25:00`` is minute 25, second 0, not an error.

Checking here lets a module refuse a schedule before any write, naming the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

KEYWORDS = ('minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually',
            'semi-annually')
DAY_NAMES = ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')
# Upper bounds (exclusive) and names of the fields.
FIELDS = (('years', 2200), ('months', 13), ('days', 32), ('hours', 24), ('minutes', 60), ('seconds', 60))
BOUND = dict(FIELDS)
EXAMPLES = "e.g. 'daily', 'sat 02:30', 'mon..fri 22:00', '*:0/15', '*-*-01 03:00', 'sun 01:00 UTC'"
_DIGITS = re.compile(r'[0-9]+')
_WORD = re.compile(r'[A-Za-z]+')
_U32 = 2 ** 32


def weekday_number(word):
    """0 (Monday) .. 6 (Sunday) for a weekday's name or its first three letters, any case; else None."""
    word = word.lower()
    for number, name in enumerate(DAY_NAMES):
        if word in (name, name[:3]):
            return number
    return None


class CalendarEvent:
    """A parsed calendar event: ``weekdays`` (a set of 0..6, empty for every day), ``keyword``, ``utc``,
    and for each of FIELDS the values given, as (start, end, step) tuples; None where the field is ``*``
    or not given (see ``given``)."""

    def __init__(self):
        self.keyword = None
        self.utc = False
        self.weekdays = set()
        self.values = dict((name, None) for name, _bound in FIELDS)
        self.given = set()

    def __repr__(self):
        return 'CalendarEvent(keyword={0!r}, weekdays={1!r}, values={2!r})'.format(
            self.keyword, sorted(self.weekdays), self.values)


class CalendarEventError(ValueError):
    """Why a text is not a calendar event."""


class _Failure(Exception):
    """One reading did not work, at ``pos``."""

    def __init__(self, pos, why):
        super(_Failure, self).__init__(why)
        self.pos = pos
        self.why = why


class _Reader:
    """A cursor over the text; ``attempt`` runs a reading and rewinds if it fails, keeping the failure
    that got furthest so the final message points at the real trouble."""

    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.furthest = None

    def rest(self):
        return self.text[self.pos:]

    def fail(self, why, pos=None, telling=True):
        """Give up this reading. A ``telling`` reason (a bound, a word that is no weekday) may become the
        message; the others only say an alternative did not fit."""
        failure = _Failure(self.pos if pos is None else pos, why if telling else None)
        self._keep(failure)
        raise failure

    def _keep(self, failure):
        if failure.why and (self.furthest is None or failure.pos >= self.furthest.pos):
            self.furthest = failure

    def attempt(self, reading, *args):
        start = self.pos
        try:
            return True, reading(*args)
        except _Failure as failure:
            self._keep(failure)
            self.pos = start
            return False, None

    def take(self, literal):
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def skip_blanks(self):
        while self.pos < len(self.text) and self.text[self.pos] in ' \t':
            self.pos += 1

    # -- one number, one value, one field

    def number(self, field):
        found = _DIGITS.match(self.text, self.pos)
        if not found:
            self.fail('expected a number for {0}'.format(field), telling=False)
        value = int(found.group())
        if value >= _U32:
            self.fail('{0} is not a number PVE reads'.format(found.group()))
        if value >= BOUND[field]:
            self.fail('{0} go up to {1}, not {2}'.format(field, BOUND[field] - 1, value), found.end())
        self.pos = found.end()
        return value

    def value(self, field):
        """V, V/R, A..B or A..B/R."""
        start = self.number(field)
        end = start
        ok, upper = self.attempt(self._range_end, field)
        if ok:
            if upper < start:
                self.fail('the range {0}..{1} of {2} runs backwards'.format(start, upper, field))
            end = upper
        elif self.take('/'):
            return (start, None, self.number(field))
        if ok and self.take('/'):
            return (start, end, self.number(field))
        return (start, end, None)

    def _range_end(self, field):
        if not self.take('..'):
            self.fail("expected '..'", telling=False)
        return self.number(field)

    def values(self, field):
        """``*``, ``*/R`` (R above 0), or a comma list of values; None stands for every value."""
        if self.take('*'):
            mark = self.pos
            if self.take('/'):
                repeat = self.number(field)
                if repeat > 0:
                    return [(0 if field in ('hours', 'minutes', 'seconds', 'years') else 1, None, repeat)]
                self.pos = mark  # '*/0' is '*' followed by text nothing reads
            return None
        items = [self.value(field)]
        while True:
            mark = self.pos
            if not self.take(','):
                return items
            ok, item = self.attempt(self.value, field)
            if not ok:
                self.pos = mark  # the comma is left over
                return items
            items.append(item)

    # -- the parts of an event

    def weekday(self):
        found = _WORD.match(self.text, self.pos)
        if not found:
            self.fail('expected a weekday', telling=False)
        number = weekday_number(found.group())
        if number is None:
            self.fail('{0!r} is not a weekday (mon..sun) nor a keyword ({1})'.format(found.group(), ', '.join(
                KEYWORDS)))
        self.pos = found.end()
        return number

    def weekdays(self):
        days = set()
        while True:
            first = self.weekday()
            ok, last = self.attempt(self._weekday_range_end)
            if not ok:
                last = first
            # A range may wrap around the week's end: fri..mon is fri, sat, sun, mon.
            span = range(first, last + 1) if first <= last else list(range(first, 7)) + list(range(0, last + 1))
            days.update(span)
            mark = self.pos
            if not self.take(','):
                return days
            ok, _unused = self.attempt(self.weekday)
            self.pos = mark
            if not ok:
                return days
            self.take(',')

    def _weekday_range_end(self):
        if not self.take('..'):
            self.fail("expected '..'", telling=False)
        return self.weekday()

    def date(self):
        """YEARS-MONTHS-DAYS, or else MONTHS-DAYS."""
        ok, found = self.attempt(self._fields, ('years', 'months', 'days'), '-')
        if ok:
            return found
        return self._fields(('months', 'days'), '-')

    def time(self):
        """[HOURS:]MINUTES[:SECONDS]; seconds default to 0."""
        found = {'seconds': [(0, 0, None)]}
        ok, hours = self.attempt(self._hours)
        if ok:
            found['hours'] = hours
        found['minutes'] = self.values('minutes')
        mark = self.pos
        if self.take(':'):
            ok, seconds = self.attempt(self.values, 'seconds')
            if ok:
                found['seconds'] = seconds
            else:
                self.pos = mark
        return found

    def _hours(self):
        hours = self.values('hours')
        if not self.take(':'):
            self.fail("expected ':' after the hours", telling=False)
        return hours

    def _fields(self, names, separator):
        found = {}
        for index, name in enumerate(names):
            if index and not self.take(separator):
                self.fail("expected '{0}' before the {1}".format(separator, name), telling=False)
            found[name] = self.values(name)
        return found


def parse_calendar_event(text):
    """The CalendarEvent ``text`` stands for, as PVE reads it; CalendarEventError says why it is none."""
    event = CalendarEvent()
    body = str(text).strip()
    if not body:
        raise CalendarEventError('it is empty')
    if body.endswith('UTC'):
        event.utc = True
        body = body[:-3].rstrip(' ')
    reader = _Reader(body)
    try:
        if body[:1].isalpha() and body[:1] in 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ':
            if body in KEYWORDS:
                event.keyword = body
                return event
            event.weekdays = reader.weekdays()
            reader.skip_blanks()
        for reading in (reader.date, reader.time):
            ok, found = reader.attempt(reading)
            if ok:
                for name, values in found.items():
                    event.values[name] = values
                    event.given.add(name)
                if reading == reader.date:
                    reader.skip_blanks()
    except _Failure as failure:
        raise CalendarEventError(failure.why or 'expected a weekday')
    furthest = reader.furthest
    if not event.weekdays and not event.given:
        raise CalendarEventError(furthest.why if furthest is not None else 'it names no weekday, date or time')
    if reader.rest():
        if furthest is not None and furthest.pos > reader.pos:
            raise CalendarEventError('{0} (at {1!r})'.format(furthest.why, reader.rest()))
        raise CalendarEventError('{0!r} is left over'.format(reader.rest().strip()))
    return event


def check_schedule(text, option='schedule'):
    """``text`` if PVE takes it as a calendar event; else a PveError naming ``option``."""
    try:
        parse_calendar_event(text)
    except CalendarEventError as exc:
        raise PveError('{0}: {1!r} is not a PVE calendar event: {2} ({3})'.format(option, text, exc, EXAMPLES))
    return text
