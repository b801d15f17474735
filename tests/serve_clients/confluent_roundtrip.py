"""confluent-kafka (librdkafka) against `kql serve`: create a topic, produce keyed records
with acks=all, consume half in a group and commit, close, then a new consumer of the same
group resumes from the committed offsets. Prints one JSON summary line."""
import json
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, group, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(10)

acked = []
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "partitioner": "murmur2_random"})
for i in range(n):
    producer.produce(topic, key=f"k{i}", value=f"v{i}",
                     on_delivery=lambda err, msg: acked.append((err, msg.partition(), msg.offset())))
assert producer.flush(20) == 0, "every record delivered"
errors = [e for e, _, _ in acked if e is not None]


def consumer():
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "session.timeout.ms": 6000})


def take(c, count, timeout_polls=200):
    got = []
    polls = 0
    while len(got) < count and polls < timeout_polls:
        polls += 1
        m = c.poll(0.1)
        if m is None or m.error():
            continue
        got.append((m.key().decode(), m.value().decode(), m.partition(), m.offset()))
    return got


first = consumer()
first.subscribe([topic])
half = take(first, n // 2)
first.commit(asynchronous=False)
first.close()

second = consumer()
second.subscribe([topic])
rest = take(second, n - len(half))
extra = take(second, 1, timeout_polls=20)
second.close()

keys = sorted({k for k, _, _, _ in half + rest})
print(json.dumps({"acked": len(acked), "errors": len(errors), "first": len(half), "second": len(rest),
                  "extra": len(extra), "distinct_keys": len(keys),
                  "placement": sorted({(k, p) for k, _, p, _ in half + rest})}))
