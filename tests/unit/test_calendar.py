"""PVE calendar events (backup job schedules): the examples of PVE's documentation and of proxmox-time's
and pve-common's tests, and agreement with the fake cluster's own, separately written, check."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.pve.fleet.plugins.module_utils.calendar import (
    CalendarEventError, check_schedule, parse_calendar_event)
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from fakecluster.calendar_event import calendar_event_error

# pve-docs calendar-events.adoc: the special values and the schedule examples (both columns).
DOCS = ['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually',
        'semi-annually', 'mon,tue,wed,thu,fri', 'mon..fri', 'sat,sun', 'sat..sun', 'mon,wed,fri', '12:05', '*/5', '0/5',
        'mon..wed 30/10', 'mon,tue,wed 30/10', 'mon..fri 8..17,22:0/15', 'fri 12..13:5/20', 'fri 12,13:5/20',
        '12,14,16,18,20,22:5', '12/2:5', '*', '*/1', '*-05', 'Sat *-1..7 15:00', '2015-10-21', '8:00/15',
        'mon,tue,wed,thu,fri 22', 'mon..fri 22']
# proxmox-time src/test.rs and pve-common test/calendar_event_test.pl.
RUST_TESTS = ['0', '*:0', '*:*', '*:*:*', '*:3:5', 'mon *:*', 'mon 2:*', 'mon 2:50', 'tue', 'wed', 'thu', 'fri', 'sat',
              'sun', '4..10/2:0', '5,10:4,8', '10,5:8,4', '6,4..10:23,5/5', '4..10,6:5/5,23', '5/2:0', '1:0',
              '2020-07-31', '02-28', '02-29', '1965/5-01-01', '2020-7..9-2/2', '2020,2021-12-31', '2021-02-29',
              '02-30', 'mon,wed..fri', 'fri..mon', 'MON', 'monDay', 'Tuesday', 'wednesday', 'thursday', 'friday',
              'saturday', 'sunday', 'mon,tue,fri', 'mon,tue..wednesday,fri..sat', 'daily UTC', 'mon..fri UTC',
              '*/10', '*/12:0', '1/12:0/15', '1,4,6', '0..3', '23..23:0..3', 'Mon', 'sun..sat', 'Fri..Mon',
              'wed,mon..tue,fri', 'mon */15', '22/1:0', '*/2:*', '20..22:*/30', '0,1,3..5', '2,4:0,1,3..5']
# Accepted because PVE's parser drops a reading that fails for the next one.
QUIRKS = ['25:00', '24:00', 'mon2:00', 'sat 02:30 UTC', 'monUTC', '  daily  ']
# pve-common's error cases, and mistakes people make.
INVALID = ['61', '*/61', '0..80', ' mon 0 0 0', '', ' mon 0 0', 'every tuesday', 'Daily', 'mon,', '*/0', 'sunday 3pm',
           '2:60', 'mon 25:61', '5..3', 'mon..fry', '*-13-01', '2200-01-01', 'UTC', '1,', '02:30 PM',
           '@daily', '0 2 * * *', 'mon, tue', 'sat 3:00,', '4294967296', '2:3:4:5', '12:05 UTC UTC']


@pytest.mark.parametrize('text', DOCS + RUST_TESTS + QUIRKS)
def test_valid_events(text):
    parse_calendar_event(text)
    assert check_schedule(text) == text
    assert calendar_event_error(text) is None


@pytest.mark.parametrize('text', INVALID)
def test_invalid_events(text):
    with pytest.raises(CalendarEventError):
        parse_calendar_event(text)
    with pytest.raises(PveError) as caught:
        check_schedule(text)
    assert str(caught.value).startswith("schedule: {0!r} is not a PVE calendar event: ".format(text))
    assert calendar_event_error(text) is not None


@pytest.mark.parametrize('text, why', [
    ('every tuesday', "'every' is not a weekday"),
    ('', 'it is empty'),
    ('61', 'minutes go up to 59, not 61'),
    ('mon 25:61', 'seconds go up to 59, not 61'),
    ('5..3', 'runs backwards'),
    ('mon,', "',' is left over"),
    ('02:30 PM', "'PM' is left over"),
])
def test_messages_say_what_is_wrong(text, why):
    with pytest.raises(CalendarEventError, match=why):
        parse_calendar_event(text)


def test_what_an_event_reads_as():
    event = parse_calendar_event('mon..fri 8..17,22:0/15')
    assert event.weekdays == {0, 1, 2, 3, 4}
    assert event.values['hours'] == [(8, 17, None), (22, 22, None)]
    assert event.values['minutes'] == [(0, None, 15)] and event.values['seconds'] == [(0, 0, None)]
    assert parse_calendar_event('fri..mon').weekdays == {4, 5, 6, 0}
    assert parse_calendar_event('25:00').values['minutes'] == [(25, 25, None)]
    assert parse_calendar_event('weekly UTC').keyword == 'weekly' and parse_calendar_event('weekly UTC').utc
    assert parse_calendar_event('*-*-01 03:00').values['days'] == [(1, 1, None)]


# Text built from the pieces schedules are made of, so that most are near misses.
PIECES = st.sampled_from(['mon', 'fri', 'sunday', 'daily', 'UTC', '..', ',', ':', '-', '/', '*', ' ', '0', '1', '2',
                          '5', '12', '23', '24', '59', '60', '2020', 'x'])


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=7).map(''.join))
def test_agrees_with_the_fake_clusters_separate_check(text):
    try:
        parse_calendar_event(text)
        ours = True
    except CalendarEventError:
        ours = False
    assert ours == (calendar_event_error(text) is None), text
