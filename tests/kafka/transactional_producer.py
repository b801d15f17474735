"""Writes transactions to one partition of a topic with confluent-kafka's transactional
producer: every argument is a transaction, `commit:v1,v2` or `abort:v1,v2`, whose values
become JSON records {"V": v} with key v. Prints nothing; exits non-zero on any error."""

import json
import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic, transactional_id = sys.argv[1:4]
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": transactional_id,
            "enable.idempotence": True,
        }
    )
    producer.init_transactions(30)
    for spec in sys.argv[4:]:
        outcome, values = spec.split(":", 1)
        producer.begin_transaction()
        for v in values.split(","):
            producer.produce(topic, key=v, value=json.dumps({"V": v}), partition=0)
        producer.flush(30)
        if outcome == "commit":
            producer.commit_transaction(30)
        elif outcome == "abort":
            producer.abort_transaction(30)
        else:
            raise SystemExit(f"unknown outcome {outcome}")


if __name__ == "__main__":
    main()
