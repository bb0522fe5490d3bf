"""The test VM as the role scenarios see it (tests/roles/run.sh boots it).

ansible-playbook runs against it as an operator would run them, commands over SSH, the
state that must survive a reboot as one comparable snapshot, and the reboot itself.
"""

import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The operator's site playbook: pve.fleet.host with the scenario's group_vars next to it.
SITE = HERE.parent / "molecule" / "default" / "converge.yml"

RECAP = re.compile(r"^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

# The firewall as iptables holds it, without counters.
FIREWALL = (
    "{ iptables-save -t filter; iptables-save -t nat; } | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//'"
)


@dataclass
class Run:
    """One ansible-playbook run: its exit code, its output and its recap counts."""

    rc: int
    output: str

    def _recap(self, index):
        found = RECAP.findall(self.output)
        assert found, f"no PLAY RECAP in the output:\n{self.output[-3000:]}"
        return sum(int(counts[index]) for counts in found)

    @property
    def changed(self):
        return self._recap(1)

    @property
    def failed(self):
        return self._recap(3)

    def failures(self):
        """Each failed task's TASK line, once, then its fatal/failed lines (which carry the messages)."""
        picked, task = [], None
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                task = line.rstrip(" *")
            elif line.startswith(("fatal: ", "failed: ")):
                if task is not None:
                    picked.append(task)
                    task = None  # its other failed loop items follow without the header again
                picked.append(line)
        return "\n".join(picked)

    def assert_ok(self):
        """The run succeeded with no failed task; otherwise the failed tasks say why."""
        assert self.rc == 0 and self.failed == 0, (
            f"ansible-playbook exited {self.rc}; failed tasks:\n{self.failures() or self.output[-3000:]}"
        )
        return self


class VM:
    """The booted test VM (port, key and inventory from run.sh's environment)."""

    def __init__(self):
        self.port = int(os.environ["PVE_FLEET_VM_PORT"])
        self.key = os.environ["PVE_FLEET_VM_KEY"]
        self.inventory = os.environ["PVE_FLEET_INVENTORY"]
        # The checks between two plays share one SSH connection: a new one costs 4-5 s in the
        # TCG guest. It is closed before each play and each reboot (a play may cut
        # connections off, and a check must never ride on one that survived by chance);
        # reachability itself is always a new TCP connection (new_ssh_connection_works).
        # A connection whose peer vanished (a reboot behind QEMU's user network, which keeps
        # the host side of the TCP connection open) is given up after 30 s of silence.
        self._direct_options = [
            "-q", "-i", self.key, "-p", str(self.port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3",
        ]
        self._last_poll = "none yet"
        self._ssh_options = [
            *self._direct_options, "-o", "ControlMaster=auto", "-o", "ControlPersist=600",
            "-o", "ControlPath=" + os.path.join(os.path.dirname(self.inventory), "checks-%C"),
        ]

    def ssh(self, command, check=True, timeout=300):
        """Run a shell command as root in the VM; its stdout."""
        result = subprocess.run(
            ["ssh", *self._ssh_options, "root@127.0.0.1", command],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"`{command}` failed ({result.returncode}): {result.stderr}{result.stdout}")
        return result.stdout

    def close_ssh(self):
        """End the checks' shared SSH connection (the next check opens a new one)."""
        subprocess.run(["ssh", *self._ssh_options, "-O", "exit", "root@127.0.0.1"],
                       capture_output=True, timeout=30, check=False)

    def play(self, *args, playbook=SITE):
        """ansible-playbook PLAYBOOK ARGS... against the VM; the output is also printed."""
        env = dict(
            os.environ,
            ANSIBLE_PIPELINING="1",
            ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=120s",
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
        )
        self.close_ssh()
        command = ["ansible-playbook", "-i", self.inventory, str(playbook), *args]
        print("$", " ".join(command), flush=True)
        result = subprocess.run(command, cwd=HERE, env=env, capture_output=True, text=True, check=False)
        print(result.stdout, result.stderr, flush=True)
        return Run(result.returncode, result.stdout + result.stderr)

    def installed(self, package):
        status = self.ssh(f"dpkg-query -W -f='${{Status}}' {package} 2>/dev/null", check=False)
        return "install ok installed" in status

    def firewall(self):
        return self.ssh(f"set -o pipefail; {FIREWALL}")

    def sysctl(self, name):
        return self.ssh(f"sysctl -n {name}").strip()

    def new_ssh_connection_works(self, timeout=10):
        """A fresh TCP connection from the controller gets the SSH banner."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")

    def snapshot(self):
        """What must come back exactly after a reboot."""
        return {
            "addresses": self.ssh("ip -4 -o addr show | awk '{print $2, $4}' | sort"),
            "routes": self.ssh("ip -4 route show | sort"),
            "bridge ports": self.ssh(
                "for p in /sys/class/net/*/master; do [ -e \"$p\" ] && echo \"$p -> $(basename $(readlink $p))\"; done; true"
            ),
            "logical volumes": self.ssh("lvs --noheadings --options vg_name,lv_name,lv_attr,segtype,lv_size | sort"),
            "ksm": self.ssh(
                "cd /sys/kernel/mm/ksm && grep . run pages_to_scan sleep_millisecs merge_across_nodes"
            ),
            "nested": self.ssh("grep -H . /sys/module/kvm_*/parameters/nested 2>/dev/null || true"),
            "sysctl": self.ssh("sysctl -a 2>/dev/null | grep -E '^net\\.ipv4\\.(ip_forward|conf\\.(eth0|vmbr[01])\\.proxy_arp) '"),
            "firewall": self.firewall(),
            "shorewall state": self.ssh("cut -d' ' -f1 /var/lib/shorewall/state"),
        }

    def boot_id(self):
        return self.ssh("cat /proc/sys/kernel/random/boot_id").strip()

    def reboot(self, timeout=600):
        """Reboot, wait until SSH answers from the new boot and until that boot has finished
        starting its units; print where the shutdown waited."""
        before = self.boot_id()
        # This boot's journal kept on disk, so that the new boot can show where the shutdown
        # spent its time (the image's drop-in says volatile; the last one by name wins).
        self.ssh("mkdir -p /run/systemd/journald.conf.d /var/log/journal"
                 " && printf '[Journal]\\nStorage=persistent\\n' >/run/systemd/journald.conf.d/zz-reboot.conf"
                 " && systemctl restart systemd-journald && journalctl --flush")
        started = time.monotonic()
        # A transient timer fires within its AccuracySec (1 min by default) of the time asked
        # for: that made the reboot 0-60 s slower from one run to the next.
        self.ssh("systemd-run --on-active=1 --timer-property=AccuracySec=100ms --quiet systemctl reboot")
        self.close_ssh()
        deadline = started + timeout
        while not self._new_boot_answers(before):
            if time.monotonic() > deadline:
                raise AssertionError(f"the VM did not come back over SSH within {timeout}s"
                                     f" (the last poll: {self._last_poll})")
            time.sleep(3)
        print(f"rebooted in {time.monotonic() - started:.0f}s", flush=True)
        self._wait_for_boot_to_finish(deadline)
        print(f"boot finished {time.monotonic() - started:.0f}s after the request", flush=True)
        self._print_shutdown_gaps()

    def _new_boot_answers(self, before):
        """A new boot id over a new connection of its own. A poll must not share (or leave
        behind) a master connection: one opened while the old boot was shutting down stays up
        on the host side of QEMU's user network, and a check through it can hang until its
        timeout (twice 300 s would explain a CI run whose new boot reached its login prompt
        with no failed unit, yet "did not come back over SSH within 600s")."""
        try:
            result = subprocess.run(
                ["ssh", *self._direct_options, "-o", "ControlMaster=no", "-o", "ControlPath=none",
                 "root@127.0.0.1", "cat /proc/sys/kernel/random/boot_id"],
                capture_output=True, text=True, timeout=30, check=False,
            )
        except subprocess.TimeoutExpired:
            self._last_poll = "no answer within 30 s"
            return False
        self._last_poll = f"ssh exited {result.returncode}: {(result.stderr + result.stdout).strip()[-300:]!r}"
        return result.returncode == 0 and result.stdout.strip() not in ("", before)

    def _wait_for_boot_to_finish(self, deadline):
        """sshd starts before Shorewall has loaded its rules (Debian orders Shorewall after the
        network only): what a boot brings back, or locks out, is there only once every unit
        has started. A boot that cuts SSH off meanwhile fails here."""
        state = self.ssh("systemctl is-system-running --wait", check=False,
                         timeout=max(deadline - time.monotonic(), 30)).strip()
        if state == "degraded":  # the snapshot comparison says whether it matters
            print("failed units:", self.ssh("systemctl --failed --no-legend --plain", check=False), flush=True)
        elif state != "running":
            raise AssertionError(f"the new boot did not finish starting (state {state!r}) or SSH was cut off")

    def _print_shutdown_gaps(self, least=3.0):
        """The previous boot's last journal lines, from the reboot's request on, wherever a
        line came `least` seconds or more after the one before it: where the shutdown waited."""
        lines = self.ssh("journalctl -b -1 -o short-monotonic --no-pager | tail -n 400", check=False).splitlines()
        stamped = []
        for line in lines:
            match = re.match(r"^\[\s*(\d+\.\d+)\]", line)
            if match:
                stamped.append((float(match.group(1)), line))
        start = next((i for i, (_when, line) in enumerate(stamped) if "reboot" in line.lower()), 0)
        stamped = stamped[start:]
        if stamped:
            print(f"shutdown: {stamped[-1][0] - stamped[0][0]:.0f}s of journal from the request to the end", flush=True)
        stamped = [(when, line) for when, line in stamped if "sshd[" not in line]  # the polls, 3 s apart
        for (then, earlier), (now, line) in zip(stamped, stamped[1:]):
            if now - then >= least:
                print(f"shutdown gap {now - then:.0f}s:\n  {earlier}\n  {line}", flush=True)
