# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Guest options declared once: how the user gives each, which PVE key it sets, how it compares.

A ``GuestKind`` (a VM or a container, in qemu.py and lxc.py) is a table of ``Option``s. From that
one table derive the module's argument spec, the comparison of every config key (also keys set
through ``config:``), the property-string format of every key (``format_of``), how a value is sent,
and how it is shown (secrets hidden in results, diffs and read results alike).

How a key compares (``compare``):

- ``plain``: as text; ``number``: as a number (``1`` and ``1.0``);
- ``bool``: any spelling of true/false (PVE answers ``1``/``0``);
- ``text``: a trailing newline PVE adds is ignored;
- ``set``: a comma list whose order PVE does not keep (``hotplug``); ``aliases`` map whole values
  (``1`` means ``network,disk,usb``);
- ``tags``: PVE's tag list, as a set, case-insensitively;
- ``sshkeys``: URL-decoded text;
- ``secret``: never equal (PVE keeps only a hash): sent only when the task says so, always shown hidden;
- ``propstr``: a property string of format ``fmt``, sub-key by sub-key (devices.PropValue).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.cluster import split_tags
from ansible_collections.pve.fleet.plugins.module_utils.devices import PropValue
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

HIDDEN = '(hidden)'
COMPARISONS = ('plain', 'number', 'bool', 'text', 'set', 'tags', 'sshkeys', 'secret', 'propstr')


class Option:
    """One option or config key of a guest type.

    ``name`` is the module option (None for a key reached only through ``config:``); ``spec`` its
    argument-spec entry; ``key`` the PVE config key, or ``pattern`` (a regex) for a family of slots
    (``scsi0``, ``net1``); an option without key or pattern only steers the engine (``state``).
    ``setting``: the option's value is the key's value as it is (the table builds the config), as
    opposed to options whose value the guest type turns into config itself (``disks``).
    """

    def __init__(self, name=None, spec=None, key=None, pattern=None, compare='plain', fmt=None, aliases=None,
                 setting=False):
        if compare not in COMPARISONS:
            raise ValueError('compare {0!r} is not one of {1}'.format(compare, COMPARISONS))
        self.name = name
        self.spec = spec
        self.key = key
        self.pattern = re.compile(pattern) if pattern else None
        self.compare = compare
        self.fmt = propstr.FORMATS[fmt] if fmt else None
        self.aliases = aliases or {}
        self.setting = setting

    def covers(self, key):
        if self.key is not None:
            return key == self.key
        return bool(self.pattern and self.pattern.match(key))


def setting(name, spec, key=None, **kwargs):
    """An option whose value is one config key's value (``memory: 2048`` -> ``memory=2048``)."""
    return Option(name, spec, key=key or name, setting=True, **kwargs)


def _set_of(value, aliases):
    text = str(value).strip()
    text = aliases.get(text, text)
    return frozenset(item.strip() for item in text.split(',') if item.strip())


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class GuestKind:
    """A guest type (``qemu`` or ``lxc``) as the engine sees it: its options and what differs between types.

    ``name_key``: the config key of its name; ``volume_content``: the storage content of its volumes
    (images, rootdir); ``async_config``: qemu's config write runs as a task, lxc's does not.
    ``hooks``: type-specific planning (see guest.py: ``create``, ``existing``, ``clone``).
    """

    def __init__(self, guest_type, noun, short, name_key, volume_content, async_config, options, hooks=None):
        self.type = guest_type
        self.noun = noun
        self.short = short
        self.name_key = name_key
        self.volume_content = volume_content
        self.async_config = async_config
        self.options = list(options)
        self.hooks = hooks or {}
        names = [o.name for o in self.options if o.name]
        if len(names) != len(set(names)):
            raise ValueError('an option of {0} is declared twice'.format(guest_type))

    # ---------------------------------------------------------- derived tables

    @property
    def argument_spec(self):
        return dict((o.name, dict(o.spec)) for o in self.options if o.name and o.spec is not None)

    @property
    def settings(self):
        return [o for o in self.options if o.setting]

    def option_for(self, key):
        """The Option that covers a config key (exact keys before slot patterns), or None."""
        for option in self.options:
            if option.key == key:
                return option
        for option in self.options:
            if option.pattern is not None and option.pattern.match(key):
                return option
        return None

    def format_of(self, key):
        """The PropFormat of a config key (``net0``, ``scsi1``, ``rootfs``), or None for a plain key."""
        option = self.option_for(key)
        return option.fmt if option is not None else None

    def compare_of(self, key):
        option = self.option_for(key)
        return option.compare if option is not None else 'plain'

    def slots(self, option, value, what):
        """The (slot, value) items of a slot option (disks, nets, ...), each slot checked against its pattern."""
        for slot in value or {}:
            found = self.option_for(str(slot))
            if found is None or found.name != option:
                raise PveError('{0}: {1!r} is not a {2} slot'.format(option, slot, what))
        return sorted((value or {}).items())

    def secret_keys(self):
        return frozenset(o.key for o in self.options if o.compare == 'secret' and o.key)

    # ------------------------------------------------------------- comparing

    def matches(self, key, want, have):
        """Whether the value PVE holds already is what the user asked for, after normalization."""
        if isinstance(want, PropValue):
            return want.matches(have)
        if have is None:
            return False
        option = self.option_for(key)
        compare = option.compare if option is not None else 'plain'
        if compare == 'propstr':
            return PropValue.from_user(key, want, option.fmt, key).matches(have)
        if compare == 'bool':
            return propstr.to_bool(want) == propstr.to_bool(have)
        if compare == 'number':
            return _number(want) == _number(have)
        if compare == 'text':
            return str(want).rstrip('\n') == str(have).rstrip('\n')
        if compare == 'set':
            return _set_of(want, option.aliases) == _set_of(have, option.aliases)
        if compare == 'tags':
            return split_tags(want) == split_tags(have)
        if compare == 'sshkeys':
            return propstr.decode_sshkeys(want).strip() == propstr.decode_sshkeys(have).strip()
        if compare == 'secret':
            return False
        return str(want) == str(have)

    def wire(self, key, value, current):
        """The value to send for a key, given what PVE holds now (None for a new guest or key)."""
        if isinstance(value, PropValue):
            return value.render(current)
        compare = self.compare_of(key)
        if compare == 'propstr':
            return PropValue.from_user(key, value, self.format_of(key), key).render(current)
        if compare == 'bool':
            return '1' if propstr.to_bool(value) else '0'
        if compare == 'sshkeys':
            return propstr.encode_sshkeys(propstr.decode_sshkeys(value))
        if compare == 'tags':
            return ';'.join(split_tags(value))
        return str(value)

    def shown(self, key, value):
        """A value as results, diffs and read results show it: secrets hidden, sshkeys decoded."""
        if value is None:
            return None
        compare = self.compare_of(key)
        if compare == 'secret':
            return HIDDEN
        if compare == 'sshkeys':
            return propstr.decode_sshkeys(value)
        return value

    def public(self, config):
        """A config as PVE returns it, fit to show: secrets hidden, the digest left out."""
        return dict((k, self.shown(k, v)) for k, v in (config or {}).items() if k != 'digest')

    def is_disk(self, key, value):
        """A key holding a volume of the guest (not a CD-ROM)."""
        fmt = self.format_of(key)
        return fmt is not None and 'size' in fmt.sizes and 'media=cdrom' not in str(value)


def pve_value(value):
    """A module value as PVE spells it: booleans are 1 and 0."""
    return ('1' if value else '0') if isinstance(value, bool) else value


def settings_config(kind, params):
    """The config keys of the options that map one to one to a key and were given."""
    config = {}
    for option in kind.settings:
        value = params.get(option.name)
        if value is None:
            continue
        if option.compare == 'propstr':
            config[option.key] = PropValue.from_user(option.key, pve_value(value), option.fmt, option.name)
        else:
            config[option.key] = pve_value(value)
    return config
