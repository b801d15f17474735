#!/usr/bin/env python3
"""kql serve against Apache Kafka, both driven by the same client (kcat, librdkafka).

Measures, on the same machine and in the same run, with runs alternating between the two:
  - produce throughput with acks=1 and acks=all (records of --size bytes, one partition),
  - consume throughput (a whole topic from the beginning, kcat -C -e),
  - start-up: from starting the process to a broker that answers Metadata,
  - memory: resident set size of the broker process after the produce runs.
Prints a Markdown table with kql's figure as a ratio of Kafka's (higher is better for
throughput, lower for time and memory).

    cargo build --release
    scripts/clients-up                     # kcat and confluent-kafka
    python3 benches/serve_vs_kafka.py --records 500000 --runs 3

Kafka is a 1-node KRaft cluster of scripts/kafka-up, started and stopped here in a folder
of its own; its start-up includes formatting its storage, as a new cluster's does. kql serve
runs with --data-dir on a temporary folder, so both brokers write their logs to files.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(bootstrap):
    from confluent_kafka.admin import AdminClient

    # log_level 0: no "connection refused" lines while a broker is still starting
    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})


def create_topic(bootstrap, name):
    from confluent_kafka.admin import NewTopic

    client = admin(bootstrap)  # kept alive until the creation is answered
    futures = client.create_topics([NewTopic(name, 1, 1)], operation_timeout=30)
    for f in futures.values():
        f.result(60)
    # The topic's leader must be known before the producer starts its clock.
    deadline = time.time() + 30
    while time.time() < deadline:
        md = admin(bootstrap).list_topics(name, timeout=10)
        t = md.topics.get(name)
        if t is not None and t.error is None and all(p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.1)
    sys.exit(f"topic {name} has no leader on {bootstrap}")


def metadata_answers(bootstrap):
    try:
        admin(bootstrap).list_topics(timeout=1)
        return True
    except Exception:
        return False


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def timed(cmd, stdin_path=None):
    start = time.perf_counter()
    with open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb") as stdin:
        out = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.decode()[-2000:]}")
    return took, out.stdout


def produce(bootstrap, topic, data, acks):
    create_topic(bootstrap, topic)
    took, _ = timed(
        ["kcat", "-b", bootstrap, "-t", topic, "-P", "-X", f"acks={acks}", "-X", "linger.ms=5",
         "-X", "batch.size=1000000", "-X", "queue.buffering.max.messages=1000000"],
        data,
    )
    return took


def consume(bootstrap, topic, records):
    took, out = timed(["kcat", "-b", bootstrap, "-t", topic, "-C", "-o", "beginning", "-e", "-q"])
    got = out.count(b"\n")
    if got != records:
        sys.exit(f"read {got} records of {records} from {topic} on {bootstrap}")
    return took


class Kql:
    def __init__(self, kql, data_dir):
        self.port = free_port()
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            [kql, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", data_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        while not metadata_answers(self.bootstrap):
            if self.proc.poll() is not None:
                sys.exit("kql serve exited while starting")
        self.startup = time.perf_counter() - start

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.proc.send_signal(2)
        self.proc.wait(30)


class Kafka:
    """The 1-node cluster of scripts/kafka-up, started here unless one is running."""

    def __init__(self, run_dir):
        # A cluster of its own (KQL_KAFKA_RUN_DIR), so the tests' clusters are left alone.
        self.env = dict(os.environ, KQL_KAFKA_RUN_DIR=run_dir)
        start = time.perf_counter()
        subprocess.run([os.path.join(ROOT, "scripts", "kafka-up"), "one"], check=True,
                       stdout=subprocess.DEVNULL, env=self.env)
        with open(os.path.join(run_dir, "one", "bootstrap")) as f:
            self.bootstrap = f.read().strip()
        while not metadata_answers(self.bootstrap):
            pass
        self.startup = time.perf_counter() - start
        with open(os.path.join(run_dir, "one", "node1", "pid")) as f:
            self.pid = int(f.read())

    def stop(self):
        subprocess.run([os.path.join(ROOT, "scripts", "kafka-down")], stdout=subprocess.DEVNULL,
                       env=self.env)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kql", default=os.path.join(ROOT, "target", "release", "kql"))
    p.add_argument("--records", type=int, default=500_000)
    p.add_argument("--size", type=int, default=100, help="bytes per record value")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="kql-serve-bench-")
    data = os.path.join(work, "records.txt")
    with open(data, "w") as f:
        for i in range(args.records):
            line = f'{{"sensor":"s-{i % 1000}","seq":{i},"pad":"'
            f.write(line + "x" * max(0, args.size - len(line) - 2) + '"}\n')

    kafka = Kafka(os.path.join(work, "kafka"))
    kql = Kql(args.kql, os.path.join(work, "kql-data"))
    figures = {k: ([], []) for k in ("produce acks=1", "produce acks=all", "consume")}
    try:
        for run in range(args.runs):
            # Alternate which broker goes first, so neither always meets a warmer machine.
            order = [(0, kql.bootstrap), (1, kafka.bootstrap)]
            if run % 2:
                order.reverse()
            for side, bootstrap in order:
                for acks in ("1", "all"):
                    topic = f"bench-{run}-acks-{acks}"
                    figures[f"produce acks={acks}"][side].append(
                        args.records / produce(bootstrap, topic, data, acks))
                figures["consume"][side].append(
                    args.records / consume(bootstrap, f"bench-{run}-acks-all", args.records))
        kql_rss = rss_bytes(kql.proc.pid)
        kafka_rss = rss_bytes(kafka.pid)
    finally:
        kql.stop()
        kafka.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{args.records} records of {args.size} bytes, 1 partition, kcat (librdkafka) as the "
          f"client, medians of {args.runs} alternating runs\n")
    print("| measure | kql serve | Apache Kafka | kql / Kafka |")
    print("|---|---|---|---|")
    for name, (k, a) in figures.items():
        km, am = statistics.median(k), statistics.median(a)
        mb = args.size / 1e6  # value bytes per record, in MB
        print(f"| {name} (records/s, MB/s) | {km:,.0f}, {km * mb:.1f} | {am:,.0f}, {am * mb:.1f} "
              f"| {km / am:.2f} |")
    print(f"| start-up to a Metadata answer (s) | {kql.startup:.3f} | {kafka.startup:.3f} "
          f"| {kql.startup / kafka.startup:.3f} |")
    if kafka_rss:
        print(f"| broker RSS after the runs (MB) | {kql_rss / 1e6:.0f} | {kafka_rss / 1e6:.0f} "
              f"| {kql_rss / kafka_rss:.2f} |")


if __name__ == "__main__":
    main()
