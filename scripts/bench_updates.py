"""Updates against the same steps typed by hand, where round trips count (used by bench.py).

An update by hand, as an operator types it: one plain `ssh` for the snapshot, the stream (over mbuffer:
the listener here, the sender's `zfs send | mbuffer` in one more `ssh`; over ssh: `ssh src 'zfs send …' |
zfs receive …`, with no `cat` to count it), one `ssh` destroying the old snapshot. zettabee's update does more (it reads both states, holds and records the base, verifies
GUIDs), in fewer round trips over one shared connection. Both run in turn on their own filesystem of
the same source, alternating who goes first; each round writes the same amount of new data to both.

- `fake_latency_updates`: the fake tools with a latency slept by the fake ssh: 50 ms for every remote
  command (multiplexed or not), and 4 round trips more (200 ms) for an ssh that opens a connection of
  its own (TCP, key exchange, authentication: OpenSSH needs at least that many before a command), so
  round trips show without the real stack.
- `real_stack_updates`: zfs-fuse, OpenSSH and mbuffer on 127.0.0.1, inside the real-component
  environment (`scripts/real-tier.sh scripts/bench --only realstack`).
"""
import json, os, shlex, shutil, statistics, subprocess, sys, tempfile, time

MIB = 1 << 20


def wait_listening(port, listener, listening, timeout=30):
    deadline = time.monotonic() + timeout
    while not listening(port):
        if listener.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bench: the hand's mbuffer listener did not listen")
        time.sleep(0.001)


class HandSteps:
    """The hand-typed update of `source` (a filesystem on the ssh host `ssh_words[-1]`) into `destination`."""

    def __init__(self, ssh_words, listen_host, port, source, destination, env, listening, transport="mbuffer"):
        self.ssh, self.listen_host, self.port, self.transport = ssh_words, listen_host, port, transport
        self.source, self.destination, self.env, self.listening = source, destination, env, listening
        self.generation = 0

    def remote(self, line):
        subprocess.run(self.ssh + [line], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def initialize(self):
        self.remote(f"zfs snapshot {self.source}@hand0")
        self.stream(f"zfs send {self.source}@hand0")
        subprocess.run(["zfs", "set", "readonly=on", self.destination], env=self.env, check=True)

    def update(self):
        """The timed steps; returns the wall time."""
        old, new = f"{self.source}@hand{self.generation}", f"{self.source}@hand{self.generation + 1}"
        started = time.monotonic()
        self.remote(f"zfs snapshot {new}")
        if self.transport == "ssh":
            self.stream(f"zfs send -i {old} {new}")
        else:
            self.mbuffer_stream(old, new)
        self.remote(f"zfs destroy {old}")
        wall = time.monotonic() - started
        self.generation += 1
        return wall

    def stream(self, send):
        """`ssh src 'SEND' | zfs receive DESTINATION`."""
        sender = subprocess.Popen(self.ssh + [send], env=self.env, stdout=subprocess.PIPE)
        subprocess.run(["zfs", "receive", self.destination], env=self.env, stdin=sender.stdout, check=True)
        sender.stdout.close()
        if sender.wait() != 0:
            raise SystemExit("bench: the hand's send failed")

    def mbuffer_stream(self, old, new):
        listener = subprocess.Popen(
            ["sh", "-c", f"mbuffer -q -s 1M -I {self.listen_host}:{self.port} | zfs receive {shlex.quote(self.destination)}"],
            env=self.env)
        wait_listening(self.port, listener, self.listening)
        self.remote(f"zfs send -i {old} {new} | mbuffer -q -s 1M -O {self.listen_host}:{self.port}")
        if listener.wait() != 0:
            raise SystemExit("bench: the hand's receive failed")


def race(label, runs, prepare, zettabee_update, hand, record, goals, remote_commands):
    """Alternating rounds: `prepare(size)` writes new data to both filesystems, then each side updates.
    `goals`: {size label: (bytes, True for a throughput goal (>= 0.95) else a wall goal (<= 1.0))}."""
    for size_label, (size, throughput) in goals.items():
        zb_walls, hand_walls, ratios = [], [], []
        for run in range(runs):
            prepare(size)
            walls = {}
            for who in (("zettabee", "hand") if run % 2 == 0 else ("hand", "zettabee")):
                walls[who] = zettabee_update() if who == "zettabee" else hand.update()
            zb_walls.append(walls["zettabee"])
            hand_walls.append(walls["hand"])
            ratios.append(walls["hand"] / walls["zettabee"] if throughput else walls["zettabee"] / walls["hand"])
            print(f"bench: {label}, {size_label}, run {run + 1}: zettabee {walls['zettabee']:.3f} s, "
                  f"hand {walls['hand']:.3f} s", flush=True, file=sys.stderr)
        ratio = statistics.median(ratios)
        detail = (f"zettabee {statistics.median(zb_walls):.3f} s, hand {statistics.median(hand_walls):.3f} s (medians); "
                  f"ratios {' '.join(f'{r:.2f}' for r in ratios)}")
        if throughput:
            record(f"6 update of {size_label}, {label}: throughput ÷ the hand's", f"{ratio:.3f} ({detail})", ">= 0.95",
                   ratio >= 0.95)
        else:
            record(f"6 update, {size_label}, {label}: wall ÷ the hand's", f"{ratio:.3f} ({detail})", "<= 1.0",
                   ratio <= 1.0)
    counted = remote_commands()
    record(f"6 remote commands per update, {label}", f"{counted} (the hand's: 3)", "<= 4", counted <= 4)


# MARK: the fakes, with a latency per remote command

def fake_latency_updates(args, base, World, record, listening, free_port, latency="0.05"):
    w = World(base, args, "latency")
    port = free_port()
    w.write_config([f"src:tank/zb  backup:backup/zb  port={port}"])
    w.reset()
    w.ctl("src", "create-pool", "tank")
    for name in ("zb", "hand"):
        w.ctl("src", "create", f"tank/{name}")
        w.ctl("src", "write", f"tank/{name}", "1M")
    w.ctl("backup", "create-pool", "backup")
    w.zb("setup")
    w.zb("initialize", "backup/zb")
    hand = HandSteps(["ssh", "-o", "BatchMode=yes", "src"], "backup", free_port(), "tank/hand", "backup/hand",
                     w.env, listening)
    hand.initialize()
    with open(os.path.join(w.world, "faults"), "w") as f:
        f.write(json.dumps({"tool": "ssh", "host": "src", "effect": "latency", "seconds": latency,
                            "connect": str(4 * float(latency))}) + "\n")

    def prepare(size):
        for name in ("zb", "hand"):
            if size:
                w.ctl("src", "write", f"tank/{name}", f"{size // MIB}M")

    last_calls = []

    def zettabee_update():
        w.clear_calls()
        _, wall = w.zb("update", "backup/zb")
        last_calls[:] = w.calls()
        return wall

    def remote_commands():
        # Every ssh that carries a command (through the master or on its own connection); the master and
        # its `-O exit` carry none.
        return sum(1 for c in last_calls if c["tool"] == "ssh" and c.get("ssh", "direct") in ("mux", "direct"))

    race(f"fakes, {float(latency) * 1000:.0f} ms per round trip", args.runs, prepare, zettabee_update, hand,
         record, {"nothing new": (0, False), "100 MiB": (100 * MIB, True)}, remote_commands)


# MARK: the real stack

SSH_COUNTER = """#!/bin/sh
# Counts ssh invocations for the benchmark, then runs the real ssh.
{ printf '%s\\037' "$@"; printf '\\036'; } >> "$ZB_BENCH_SSH_LOG"
exec /usr/bin/ssh "$@"
"""


def real_stack_updates(args, base, World, record, listening, free_port):
    needed = ("ZB_REAL_DIR", "ZB_SSH_CONFIG", "ZB_SSH_SRC")
    if any(name not in os.environ for name in needed):
        record("6 updates on the real stack", "skipped", "", None,
               "NOT RUN: needs the real-component environment; run: sudo scripts/real-tier.sh scripts/bench --only realstack")
        return
    ssh_config, ssh_host = os.environ["ZB_SSH_CONFIG"], os.environ["ZB_SSH_SRC"]
    work = tempfile.mkdtemp(prefix="realstack-", dir=base)
    # Pools of their own, large enough for rounds of 100 MiB on two filesystems (the environment's are small).
    tag = f"{os.getpid()}"
    src_pool, dst_pool = f"zbbsrc{tag}", f"zbbdst{tag}"
    pools = []
    wrappers = os.path.join(work, "bin")
    os.makedirs(wrappers)
    with open(os.path.join(wrappers, "ssh"), "w") as f:
        f.write(SSH_COUNTER)
    os.chmod(os.path.join(wrappers, "ssh"), 0o755)
    ssh_log = os.path.join(work, "ssh.log")
    env = dict(os.environ, PATH=f"{wrappers}:{os.environ['PATH']}", ZB_BENCH_SSH_LOG=ssh_log)
    config, run_dir, log_dir = (os.path.join(work, name) for name in ("zb.cfg", "run", "log"))
    port = free_port()
    with open(config, "w") as f:
        f.write(f"{ssh_host}:{src_pool}/bench-zb  127.0.0.1:{dst_pool}/bench-zb  port={port}\n")
        # The ssh transport with its default exact size: the `cat` the hand does not type.
        f.write(f"{ssh_host}:{src_pool}/bench-zs  127.0.0.1:{dst_pool}/bench-zs\n")
    zettabee = [os.path.join(args.bin, "zettabee"), "-c", config, "--run-dir", run_dir, "--log-dir", log_dir,
                "--ssh-config", ssh_config]

    def zb(*words):
        started = time.monotonic()
        p = subprocess.run(zettabee + list(words), env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"bench: zettabee {' '.join(words)} failed ({p.returncode}): {p.stderr.strip()}")
        return time.monotonic() - started

    def zfs_lines(*words):
        return subprocess.run(["zfs", *words], capture_output=True, text=True, check=True).stdout.split("\n")

    def mountpoint(dataset):
        return zfs_lines("get", "-H", "-o", "value", "mountpoint", dataset)[0]

    try:
        for pool in (src_pool, dst_pool):
            image = os.path.join(work, pool + ".img")
            with open(image, "wb") as f:
                f.truncate(2 << 30)
            subprocess.run(["zpool", "create", "-m", os.path.join(work, "mnt", pool), pool, image], check=True)
            pools.append(pool)
        for name in ("zb", "hand", "zs", "hs"):
            subprocess.run(["zfs", "create", f"{src_pool}/bench-{name}"], check=True)
        zb("setup")
        zb("initialize", f"{dst_pool}/bench-zb")
        zb("initialize", f"{dst_pool}/bench-zs")
        hand = HandSteps(["ssh", "-F", ssh_config, ssh_host], "127.0.0.1", free_port(), f"{src_pool}/bench-hand",
                         f"{dst_pool}/bench-hand", env, listening)
        hand.initialize()
        hand_ssh = HandSteps(["ssh", "-F", ssh_config, ssh_host], None, None, f"{src_pool}/bench-hs",
                             f"{dst_pool}/bench-hs", env, listening, transport="ssh")
        hand_ssh.initialize()
        generation = [0]

        def preparing(names):
            return lambda size: prepare(size, names)

        def prepare(size, names):
            # Outside the timing: the destinations keep only their newest snapshot (zettabee's is its
            # held base), so that the pools never fill.
            for name in names:
                snapshots = [line for line in zfs_lines("list", "-H", "-t", "snapshot", "-o", "name", "-s", "createtxg",
                                                        "-r", f"{dst_pool}/bench-{name}") if line]
                for snapshot in snapshots[:-1]:
                    subprocess.run(["zfs", "destroy", snapshot], capture_output=True)
            if not size:
                return
            generation[0] += 1
            data = os.path.join(work, "data")
            with open("/dev/urandom", "rb") as source, open(data, "wb") as out:
                remaining = size
                while remaining:
                    chunk = source.read(min(remaining, 4 * MIB))
                    out.write(chunk)
                    remaining -= len(chunk)
            for name in names:
                root = mountpoint(f"{src_pool}/bench-{name}")
                previous = os.path.join(root, f"data{generation[0] - 1}")
                if os.path.exists(previous):
                    os.remove(previous)
                shutil.copyfile(data, os.path.join(root, f"data{generation[0]}"))
            os.remove(data)
            subprocess.run(["sync"], check=True)

        last_log = []

        def updating(name):
            def zettabee_update():
                if os.path.exists(ssh_log):
                    os.remove(ssh_log)
                wall = zb("update", f"{dst_pool}/bench-{name}")
                with open(ssh_log) as f:
                    last_log[:] = [record.split("\x1f")[:-1] for record in f.read().split("\x1e") if record]
                return wall
            return zettabee_update

        def remote_commands():
            # ssh invocations that carry a command: not the master (-N) nor its `-O exit`.
            return sum(1 for argv in last_log if "-N" not in argv and "-O" not in argv)

        race("real stack (zfs-fuse, OpenSSH, mbuffer on 127.0.0.1)", args.runs, preparing(("zb", "hand")),
             updating("zb"), hand, record, {"nothing new": (0, False), "100 MiB": (100 * MIB, True)}, remote_commands)
        race("real stack over ssh, exactsize=yes (its cat against a hand without)", args.runs, preparing(("zs", "hs")),
             updating("zs"), hand_ssh, record, {"100 MiB": (100 * MIB, True)}, remote_commands)
    finally:
        for pool in reversed(pools):
            subprocess.run(["zpool", "destroy", "-f", pool], capture_output=True)
