"""confluent-kafka (librdkafka) against `kql serve` with each compression.type: records
produced in compressed batches (compressible values, lingering so batches fill) are read
back whole. Prints one JSON summary line: per codec, records acknowledged, delivery
errors, and records read back equal to what was written."""
import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

codecs = ["gzip", "snappy", "lz4", "zstd"]
admin = AdminClient({"bootstrap.servers": bootstrap})
topics = [NewTopic(f"{prefix}-{c}", num_partitions=1, replication_factor=1) for c in codecs]
for future in admin.create_topics(topics).values():
    future.result(10)

summary = {}
for codec in codecs:
    topic = f"{prefix}-{codec}"
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
                         "linger.ms": 50, "partitioner": "murmur2_random"})
    results = []
    sent = [f'{{"sensor": "s{i % 5}", "reading": {i}, "note": "the same words again and again"}}'
            for i in range(n)]
    for i, value in enumerate(sent):
        producer.produce(topic, key=f"s{i % 5}", value=value,
                         on_delivery=lambda err, msg: results.append(err))
    assert producer.flush(20) == 0, "every record delivered"
    errors = [str(e) for e in results if e is not None]

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = []
    polls = 0
    while len(got) < n and polls < 200:
        polls += 1
        m = consumer.poll(0.1)
        if m is None or m.error():
            continue
        got.append(m.value().decode())
    consumer.close()
    summary[codec] = {"acked": len(results) - len(errors), "errors": errors,
                      "read_back_equal": got == sent}
print(json.dumps(summary))
