"""kafka-python against `kql serve`: produce keyed records with acks=all, consume half in a
group and commit, close, then a new consumer of the group resumes from the committed
offsets. Prints one JSON summary line."""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, topic, group, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

admin = KafkaAdminClient(bootstrap_servers=bootstrap)
admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
admin.close()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()) for i in range(n)]
producer.flush(20)
placed = [f.get(timeout=10) for f in futures]
producer.close()


def consumer():
    return KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                         enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=1000,
                         consumer_timeout_ms=8000)


def take(c, count):
    got = []
    for m in c:
        got.append((m.key.decode(), m.value.decode(), m.partition, m.offset))
        if len(got) >= count:
            break
    return got


first = consumer()
half = take(first, n // 2)
first.commit()
first.close()

second = consumer()
rest = take(second, n)
second.close()

print(json.dumps({"acked": len(placed), "first": len(half), "second": len(rest),
                  "distinct": len({(k, v) for k, v, _, _ in half + rest}),
                  "placement": sorted({(k, p) for k, _, p, _ in half + rest})}))
