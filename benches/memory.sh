#!/bin/sh
# Peak memory (RSS) and time of `kql run` without --data-dir on the workloads W1-W4 of the
# shared benchmark workloads, as a user runs them: the whole process, from reading the
# JSON lines into the log to the last sink record. Not a timed test: figures to read.
#
#     cargo build --release
#     rustc -O benches/workload/gen.rs -o gen && ./gen "$DIR" 10000000 readings_10m
#     benches/memory.sh "$DIR/readings_10m.jsonl"
#
# KQL (default target/release/kql) names the binary. Each line: workload, peak RSS, wall,
# user and system seconds. (The benches workloads.rs and joins.rs check the row counts.)
set -eu
file=$(realpath "$1")
dir=$(dirname "$file")
kql=${KQL:-target/release/kql}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

common="CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE, ts BIGINT)
  WITH (kafka_topic='readings', partitions=2, value_format='JSON', timestamp='ts');
CREATE SOURCE CONNECTOR readings_src WITH ('connector.class'='FileStreamSource',
  'file'='$file', 'topic'='readings', 'key'='sensor');"

w1="CREATE STREAM hot AS SELECT sensor, temp, ts FROM readings WHERE temp > 30;"
w2="CREATE TABLE per_minute AS SELECT sensor, COUNT(*) AS n,
  AVG(temp) AS avg_temp, MAX(temp) AS max_temp FROM readings
  WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 2 SECONDS) GROUP BY sensor EMIT FINAL;"
w3="CREATE TABLE sensors (sensor VARCHAR PRIMARY KEY, threshold DOUBLE, site VARCHAR, ts BIGINT)
  WITH (kafka_topic='sensors', partitions=2, value_format='JSON', timestamp='ts');
CREATE SOURCE CONNECTOR sensors_src WITH ('connector.class'='FileStreamSource',
  'file'='$dir/sensors.jsonl', 'topic'='sensors', 'key'='sensor');
CREATE STREAM alerts AS SELECT r.sensor, r.temp, s.threshold FROM readings r
  JOIN sensors s ON r.sensor = s.sensor WHERE r.temp > s.threshold;"
w4="CREATE GLOBAL TABLE sites (site VARCHAR PRIMARY KEY, city VARCHAR, ts BIGINT)
  WITH (kafka_topic='sites', partitions=1, value_format='JSON');
CREATE SOURCE CONNECTOR sites_src WITH ('connector.class'='FileStreamSource',
  'file'='$dir/sites.jsonl', 'topic'='sites', 'key'='site');
CREATE STREAM located AS SELECT r.sensor, g.city, r.temp FROM readings r
  JOIN sites g ON r.site = g.site;"

printf '%-4s %12s %8s %8s %8s\n' "" "peak RSS" "wall s" "user s" "sys s"
for name in W1 W2 W3 W4; do
  case $name in
    W1) q=$w1 ;; W2) q=$w2 ;; W3) q=$w3 ;; W4) q=$w4 ;;
  esac
  printf '%s\n%s\n' "$common" "$q" > "$work/$name.ksql"
  /usr/bin/time -f '%M %e %U %S' -o "$work/time" "$kql" run "$work/$name.ksql" \
    > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }
  read -r kb wall user sys < "$work/time"
  printf '%-4s %9d MB %8s %8s %8s\n' "$name" $((kb / 1024)) "$wall" "$user" "$sys"
done
