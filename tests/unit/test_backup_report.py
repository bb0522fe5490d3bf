"""The backup module's per-guest report, from vzdump's task log and the archives made (pure functions)."""

from ansible_collections.pve.fleet.plugins.module_utils.backup import backup_failure, backup_report, vzdump_outcomes

# A vzdump task log as PVE writes it (pve-manager PVE/VZDump.pm, debugmsg's INFO:/ERROR: prefixes).
LOG = '''INFO: starting new backup job: vzdump 100 101 102 --storage shared --mode snapshot
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2026-11-25 01:00:00
INFO: creating vzdump archive '/mnt/pve/shared/dump/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst'
INFO: Finished Backup of VM 100 (01:02:03)
INFO: Backup finished at 2026-11-25 02:02:03
INFO: Starting Backup of VM 101 (lxc)
ERROR: Backup of VM 101 failed - CT is locked (snapshot)
INFO: Failed at 2026-11-25 02:02:04
INFO: Starting Backup of VM 102 (qemu)
INFO: Backup job finished with errors
TASK ERROR: job errors'''.splitlines()


def guest(vmid, name, kind='qemu', node='pve1'):
    return dict(vmid=vmid, name=name, type=kind, node=node)


def archive(vmid, size):
    return dict(vmid=vmid, volid='shared:backup/vzdump-qemu-{0}-2026_11_25-01_00_00.vma.zst'.format(vmid), size=size)


def test_outcomes_read_from_vzdumps_own_lines():
    assert vzdump_outcomes(LOG) == {
        100: dict(status='ok', duration=3723, msg=''),
        101: dict(status='failed', duration=None, msg='CT is locked (snapshot)'),
        102: dict(status='started', duration=None, msg=''),
    }


def test_report_per_guest_and_the_failure_naming_each_failed_one():
    guests = [guest(100, 'web1'), guest(101, 'cache1', 'lxc'), guest(102, 'db1'), guest(103, 'gone', node='pve2')]
    report = backup_report(guests, [archive(100, 4096)], vzdump_outcomes(LOG), {'pve2': 'task vzdump failed: x'})
    assert [(r['vmid'], r['status'], r['archive'], r['size'], r['duration']) for r in report] == [
        (100, 'ok', archive(100, 0)['volid'], 4096, 3723), (101, 'failed', None, None, None),
        (102, 'failed', None, None, None), (103, 'failed', None, None, None)]
    assert report[1]['msg'] == 'CT is locked (snapshot)'
    assert report[2]['msg'] == 'no archive was made: its backup did not finish'
    assert report[3]['msg'] == 'no archive was made (the vzdump task on pve2: task vzdump failed: x)'
    assert backup_failure(report).startswith('backup failed for 3 of 4 guest(s): CT 101 (cache1) on pve1: CT is locked')
    assert backup_failure(report[:1]) is None


def test_an_archive_without_a_log_line_still_counts():
    report = backup_report([guest(100, 'web1')], [archive(100, 1)], {})
    assert report[0]['status'] == 'ok' and report[0]['duration'] is None
