//! The session's side of persistent work: starting and terminating persistent queries,
//! connectors, catching queries up before a reading statement, PRINT, and the end of a
//! bounded run (every open window closes; late and bad records are reported).

use super::error::ExecError;
use super::format::key::decode_kafka;
use super::loads::global_lookups;
use super::output::{listing, Output};
use super::persistent::{run_transient, split_window_key, FileSink};
use super::session::Session;
use super::share::Sharing;
use crate::data::Value;
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::log::{Offsets, Record};
use crate::exec::task::{PartitionRange, PartitionReader};
use crate::plan::catalog::{ColumnRole, Format};
use crate::plan::logical::LogicalPlan;
use crate::plan::persistent::{ConnectorPlan, PersistentKind, PersistentPlan};
use crate::plan::QueryPlan;
use crate::syntax::ast::{self, ConnectorKind};

/// A failure of the executor, as the user reads it (its code says whose fault it is).
fn failed(e: impl Into<ExecError>) -> Diagnostic {
    Diagnostic::from(e.into())
}

fn is_aggregating(plan: &QueryPlan) -> bool {
    let mut node = Some(&plan.root);
    while let Some(n) = node {
        if matches!(n, LogicalPlan::Aggregate(_)) {
            return true;
        }
        node = n.inputs().first().copied();
    }
    false
}

/// A `__consumer_offsets` key as Kafka's console consumer shows it: group, topic, partition.
fn offset_key_json(k: &[u8]) -> String {
    match crate::exec::log::offsets_topic::decode_key(k) {
        Ok(k) => format!(
            "{{\"group\":{},\"topic\":{},\"partition\":{}}}",
            serde_json::Value::String(k.group),
            serde_json::Value::String(k.topic),
            k.partition
        ),
        Err(e) => serde_json::Value::String(e.to_string()).to_string(),
    }
}

/// A `__consumer_offsets` value: the committed offset (the next record to read).
fn offset_value_json(v: &[u8]) -> String {
    match crate::exec::log::offsets_topic::decode_value(v) {
        Ok(offset) => format!("{{\"offset\":{offset}}}"),
        Err(e) => serde_json::Value::String(e.to_string()).to_string(),
    }
}

impl Session {
    /// Says when a join's table side is entirely later than its stream side.
    pub(crate) fn warn_join_times(
        &self,
        plan: &crate::plan::logical::LogicalPlan,
        out: &mut dyn Output,
    ) {
        for w in super::join_times::table_later_than_stream(&self.log, plan) {
            out.warning(&w);
        }
    }

    /// The session's `acks` for the records INSERT VALUES writes.
    pub(crate) fn acks(&self) -> crate::exec::log::Acks {
        match self.properties.get("acks").map(String::as_str) {
            Some("0") => crate::exec::log::Acks::None,
            Some("1") => crate::exec::log::Acks::Leader,
            _ => crate::exec::log::Acks::All,
        }
    }

    fn offset_reset_latest(&self) -> bool {
        self.properties
            .get("auto.offset.reset")
            .is_some_and(|v| v == "latest")
    }

    /// Every persistent query catches up with its inputs (before a reading statement).
    pub fn catch_up(&mut self) -> Result<(), Diagnostic> {
        self.registry
            .catch_up(&self.runtime, &self.log, false)
            .map_err(failed)
    }

    /// The end of a bounded run: queries catch up, every open window closes, and what
    /// was skipped is reported.
    pub fn finish(&mut self, out: &mut dyn Output) -> Result<(), Diagnostic> {
        self.settle_loads(out)?;
        self.registry
            .catch_up(&self.runtime, &self.log, true)
            .map_err(failed)?;
        self.report_skipped(out);
        Ok(())
    }

    /// Warns of the records each persistent query skipped so far: late ones, bad ones.
    pub fn report_skipped(&self, out: &mut dyn Output) {
        for q in &self.registry.queries {
            if q.stats.late_records > 0 {
                out.warning(&format!(
                    "query {} dropped {} late record(s): they arrived after their window closed (window end + grace period <= stream time)",
                    q.id, q.stats.late_records
                ));
            }
            if let Some(msg) = q.stats.bad_report(&format!("query {}", q.id)) {
                out.warning(&msg);
            }
        }
    }

    pub(crate) fn run_any_query(
        &mut self,
        plan: &QueryPlan,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        self.catch_up()?;
        let prefix = super::naming::transient_prefix(
            self.log.application_id(),
            self.log.topic_names().len() as u64,
        );
        if self.is_live() {
            if self.run_live_query(plan, &prefix, self.offset_reset_latest(), out)? {
                return Ok(());
            }
            out.warning("a push query over a join stops at the end of its input in this version of kql; CREATE STREAM ... AS SELECT runs a join continuously");
        }
        if !is_aggregating(plan) {
            return self.run_query(plan, out);
        }
        let source = plan.root.sources()[0].clone();
        // What the query will read, for a progress display (and Ctrl-C).
        let start = if self.offset_reset_latest() {
            super::physical::StartAt::Latest
        } else {
            super::physical::StartAt::Earliest
        };
        let total_records = super::physical::ranges(&self.log, &source.topic, start)
            .map_or(0, |r| r.iter().map(|r| r.end - r.start).sum());
        let progress = std::sync::Arc::new(super::output::Progress {
            total_records,
            ..Default::default()
        });
        out.progress(&progress);
        let (rows, stats) = run_transient(
            &self.runtime,
            &self.log,
            plan,
            &prefix,
            self.offset_reset_latest(),
            Some(progress.clone()),
        )
        .map_err(|e| failed(ExecError::from(e).context("the query failed")))?;
        {
            use std::sync::atomic::Ordering::Relaxed;
            progress.late_records.store(stats.late_records, Relaxed);
            progress.bad_records.store(stats.bad_records, Relaxed);
        }
        let columns = super::output::result_columns(plan);
        out.begin(&columns);
        let limit = plan.limit.unwrap_or(u64::MAX);
        let mut emitted = 0;
        for r in rows.iter().filter(|r| !r.tombstone) {
            if emitted >= limit || out.cancelled() {
                break;
            }
            out.row(&r.values);
            emitted += 1;
            progress
                .rows
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        out.end();
        if plan.limit.is_some_and(|l| emitted >= l) {
            out.status(&format!("Limit Reached ({emitted} rows)"));
        }
        if stats.late_records > 0 {
            out.warning(&format!(
                "dropped {} late record(s) of {}: they arrived after their window closed",
                stats.late_records, source.name
            ));
        }
        if let Some(msg) = stats.bad_report(&format!("the query over {}", source.name)) {
            out.warning(&msg);
        }
        Ok(())
    }

    pub(crate) fn start_persistent(
        &mut self,
        mut p: PersistentPlan,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        // While connectors load (`loads.rs`): the global tables it looks rows up in are
        // loaded whole first; a query that starts at the end of its input, or writes
        // where a connector loads, waits for every load.
        if !self.loads.is_empty() {
            if self.offset_reset_latest() || self.loads.loading(&p.sink.topic) {
                self.settle_loads(out)?;
            } else {
                self.settle_loads_into(&global_lookups(&p.query.root), out)?;
            }
        }
        if p.kind != PersistentKind::Insert {
            match self.log.partition_count(&p.sink.topic) {
                Some(real) => p.sink.partitions = real,
                None => {
                    let config = super::session::topic_config(&p.sink);
                    self.log.create_topic(&p.sink.topic, config).map_err(|e| {
                        let mut d = Diagnostic::new(
                            Code::TopicError,
                            format!("cannot create topic '{}': {e}", p.sink.topic),
                        );
                        if let Some(s) = p.sink.partitions_at {
                            d = d.label(s, "declared here");
                        }
                        d.help("start kql with more --brokers, or lower replicas")
                    })?;
                }
            }
        }
        if self.guest && self.restoring() {
            // The process that holds the data directory runs this query; two would write
            // its rows twice. Its number is taken, as the holder took it.
            self.registry.command_seq += 1;
            if p.kind != PersistentKind::Insert {
                self.catalog.insert(p.sink.clone());
            }
            return Ok(());
        }
        if let Some(members) = self.run_elsewhere(&p) {
            // Live processes of the application run it (`kql run --follow`, sharing it in
            // its group); running it here too would write its results twice.
            let id = self.registry.next_id(&p);
            self.registry.command_seq += 1;
            if p.kind != PersistentKind::Insert {
                self.catalog.insert(p.sink.clone());
            }
            let note = format!(
                "query {id} is run by {members} live process(es) of application '{}' (consumer group '{}'): this session reads its results and leaves the query to them",
                self.log.application_id(),
                super::naming::query_group(self.log.application_id(), &id)
            );
            if self.restoring {
                self.restore_warnings.push(note);
            } else {
                out.warning(&note);
            }
            return Ok(());
        }
        let id = self
            .registry
            .start(
                &p,
                &self.log,
                self.offset_reset_latest(),
                self.share_queries && self.log.shares_groups(),
            )
            .map_err(failed)?;
        if p.kind != PersistentKind::Insert {
            self.catalog.insert(p.sink.clone());
        }
        out.status(&format!("Created query with ID {id}"));
        if self.share_queries {
            self.share_query(&id, out)?;
        }
        Ok(())
    }

    /// How many live processes of the application run the query `p` would start, when
    /// this session does not share queries (a bounded run, the shell) and some do: the
    /// members of the query's consumer group on the cluster.
    fn run_elsewhere(&self, p: &PersistentPlan) -> Option<usize> {
        if self.share_queries || self.log.embedded().is_some() || !self.log.is_durable() {
            return None;
        }
        let id = self.registry.next_id(p);
        let group = super::naming::query_group(self.log.application_id(), &id);
        let members = self.log.describe_group(&group).ok()?.members.len();
        (members > 0).then_some(members)
    }

    /// Makes the query `id` one that the application's processes share, or warns that
    /// each process runs it whole.
    fn share_query(&mut self, id: &str, out: &mut dyn Output) -> Result<(), Diagnostic> {
        let Some(q) = self.registry.queries.iter_mut().find(|q| q.id == id) else {
            return Ok(());
        };
        let app = self.log.application_id().to_string();
        match super::share::share(&self.log, q).map_err(failed)? {
            Sharing::Shared { group } => out.status(&format!(
                "Query {id} shares the partitions of its input with the other processes of application '{app}' (consumer group '{group}')"
            )),
            Sharing::Whole(why) => {
                let warning = format!(
                    "query {id} runs whole in this process ({why}): another process of application '{app}' would compute and write its results again; run it in one process"
                );
                if self.restoring {
                    self.restore_warnings.push(warning);
                } else {
                    out.warning(&warning);
                }
            }
            Sharing::Alone => {}
        }
        Ok(())
    }

    pub(crate) fn create_connector(
        &mut self,
        c: ConnectorPlan,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        self.confine(&c.file, c.file_span)?;
        let file_error = |e: String| {
            Diagnostic::new(Code::FileError, e)
                .help("the connector's 'file' is relative to the .ksql file")
        };
        match c.kind {
            ConnectorKind::Source => {
                // Records of one topic keep the order of the connectors that load them.
                self.settle_loads_into(std::slice::from_ref(&c.topic), out)?;
                if !self.start_load(&c, out)? {
                    // (loaded now, after the loads before it, so no load overtakes another)
                    self.settle_loads(out)?;
                    let fields = super::connector::LineFields::of(&c);
                    let loaded =
                        super::connector::load_file(&self.log, &c.file, &c.topic, &fields)?;
                    super::loads::report_loaded(
                        &c.name,
                        loaded,
                        &c.file,
                        &c.topic,
                        c.timestamp_field.as_deref(),
                        out,
                    );
                }
            }
            ConnectorKind::Sink => {
                self.catch_up()?;
                let mut sink = FileSink::new(&c.name, &c.topic, c.file.clone(), &self.log)
                    .map_err(file_error)?;
                sink.catch_up(&self.log).map_err(file_error)?;
                self.registry.sinks.push(sink);
                out.status(&format!("Created connector {}", c.name));
            }
        }
        self.registry.connectors.push((
            c.name.clone(),
            match c.kind {
                ConnectorKind::Source => "SOURCE".into(),
                ConnectorKind::Sink => "SINK".into(),
            },
            c.class.clone(),
            c.topic.clone(),
        ));
        Ok(())
    }

    pub(crate) fn terminate(
        &mut self,
        id: Option<&ast::Ident>,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        if self.guest && self.restoring() {
            return Ok(()); // the holder's query, which this session did not start
        }
        // What a query read before TERMINATE is processed: it ran until now.
        self.catch_up()?;
        let wanted = id.map(|i| i.name.to_ascii_uppercase());
        match self.registry.terminate(wanted.as_deref()) {
            Ok(ids) => {
                for i in ids {
                    out.status(&format!("Query {i} terminated."));
                }
                Ok(())
            }
            Err(unknown) => {
                let ids: Vec<String> = self.registry.queries.iter().map(|q| q.id.clone()).collect();
                let d = Diagnostic::new(
                    Code::UnknownQuery,
                    format!("there is no running query {unknown}"),
                )
                .label(id.unwrap().span, "unknown query id");
                Err(if ids.is_empty() {
                    d.help("no persistent query is running; SHOW QUERIES lists them")
                } else {
                    d.help(format!("the running queries are: {}", ids.join(", ")))
                })
            }
        }
    }

    /// SHOW QUERIES: each persistent query with its status, the records it has read and
    /// written, and its lag (input records not read yet). Queries catch up first, as
    /// before any reading statement, so the counters do not depend on timing.
    pub(crate) fn show_queries(&mut self, out: &mut dyn Output) -> Result<(), Diagnostic> {
        self.catch_up()?;
        let log = self.log.clone();
        let rows = self
            .registry
            .queries
            .iter_mut()
            .map(|q| {
                let lag = query_lag(&*log, q);
                vec![
                    Value::string(&q.id),
                    Value::string("PERSISTENT"),
                    Value::string("RUNNING"),
                    Value::Bigint(q.stats.records_read as i64),
                    Value::Bigint(q.stats.records_written as i64),
                    Value::Bigint(lag as i64),
                    Value::string(&q.sink_name),
                    Value::string(&q.sink_topic),
                    Value::string(&q.text),
                ]
            })
            .collect();
        listing(
            out,
            &[
                "Query ID",
                "Query Type",
                "Status",
                "Rows In",
                "Rows Out",
                "Lag",
                "Sink Name",
                "Sink Kafka Topic",
                "Query String",
            ],
            rows,
        );
        if self.guest {
            out.status(
                "The queries of the process that holds the data directory run there and are \
                 not listed here",
            );
        }
        Ok(())
    }

    /// DESCRIBE EXTENDED: the queries that write or read a stream or table, with their
    /// counters (records read and written, late records dropped, bad records skipped).
    pub(crate) fn describe_queries(&self, name: &str, out: &mut dyn Output) {
        let rows = self
            .registry
            .queries
            .iter()
            .filter_map(|q| {
                let role = match (q.sink_name == name, q.inputs.iter().any(|i| i == name)) {
                    (true, true) => "reads and writes",
                    (true, false) => "writes",
                    (false, true) => "reads",
                    (false, false) => return None,
                };
                Some(vec![
                    Value::string(&q.id),
                    Value::string(role),
                    Value::Bigint(q.stats.records_read as i64),
                    Value::Bigint(q.stats.records_written as i64),
                    Value::Bigint(q.stats.late_records as i64),
                    Value::Bigint(q.stats.bad_records as i64),
                ])
            })
            .collect();
        listing(
            out,
            &[
                "Query ID",
                "Role",
                "Records read",
                "Records written",
                "Late dropped",
                "Bad records",
            ],
            rows,
        );
    }

    pub(crate) fn show_connectors(&mut self, out: &mut dyn Output) {
        let rows = self
            .registry
            .connectors
            .iter()
            .map(|(n, t, c, topic)| {
                vec![
                    Value::string(n),
                    Value::string(t),
                    Value::string(c),
                    Value::string(topic),
                ]
            })
            .collect();
        listing(out, &["Connector Name", "Type", "Class", "Topic"], rows);
    }

    /// `PRINT 'topic' [FROM BEGINNING] [LIMIT n]`: the topic's records, merged across
    /// partitions by timestamp. Without FROM BEGINNING it starts where
    /// `auto.offset.reset` says (kql's default: earliest).
    pub(crate) fn print(&mut self, p: &ast::Print, out: &mut dyn Output) -> Result<(), Diagnostic> {
        self.catch_up()?;
        let Some(n) = self.log.partition_count(&p.topic) else {
            let names = self.log.topic_names();
            return Err(unknown_topic(p, names.iter().map(String::as_str)));
        };
        let from_start = p.from_beginning || !self.offset_reset_latest();
        // Each partition is read by its own reader, which fetches only when the merge has
        // taken all its fetched records: memory stays one fetch per partition, however
        // long the topic and whatever the LIMIT. Each partition's head is kept owned.
        let mut partitions = Vec::new();
        for part in 0..n {
            let Offsets {
                log_start,
                high_watermark,
                ..
            } = self
                .log
                .offsets(&p.topic, part)
                .map_err(|e| failed(e.to_string()))?;
            let range = PartitionRange {
                partition: part,
                start: if from_start {
                    log_start
                } else {
                    high_watermark
                },
                end: high_watermark,
            };
            let reader = PartitionReader::new(self.log.clone(), p.topic.clone(), range);
            partitions.push((reader, None::<Record>));
        }
        let mut next_record = || -> Result<Option<(u32, Record)>, Diagnostic> {
            for (reader, head) in partitions.iter_mut() {
                if head.is_none() {
                    *head = reader.next_record().map_err(failed)?.map(|r| r.to_record());
                }
            }
            // Partitions merged by timestamp, each in offset order.
            let first = partitions
                .iter()
                .enumerate()
                .filter_map(|(i, (_, h))| h.as_ref().map(|r| (r.timestamp_ms, i)))
                .min();
            Ok(first.map(|(_, i)| (i as u32, partitions[i].1.take().expect("a head"))))
        };
        let def = self.catalog.sources().find(|d| d.topic == p.topic).cloned();
        let window = self.registry.windowed_topics.get(&p.topic).copied();
        let limit = p.limit.unwrap_or(u64::MAX) as usize;
        for _ in 0..limit {
            let Some((part, r)) = next_record()? else {
                break;
            };
            let mut key_bytes = r.key.as_deref();
            let mut win = None;
            if let (Some(w), Some(k)) = (window, key_bytes) {
                if let Some((inner, s, e)) = split_window_key(w, k) {
                    key_bytes = Some(inner);
                    win = Some((s, e));
                }
            }
            let offsets = p.topic == crate::exec::log::offsets_topic::TOPIC;
            let key_json = match key_bytes {
                None => "null".to_string(),
                Some(k) if offsets => offset_key_json(k),
                Some(k) => key_json(def.as_ref(), k),
            };
            let value_json = match &r.value {
                None => "null".to_string(),
                Some(v) if offsets => offset_value_json(v),
                // A JSON object or array is shown as written (its fields in column order).
                Some(v) => match serde_json::from_slice::<serde_json::Value>(v) {
                    Ok(j) if j.is_object() || j.is_array() => {
                        String::from_utf8_lossy(v.trim_ascii()).into_owned()
                    }
                    _ => serde_json::Value::String(String::from_utf8_lossy(v).into_owned())
                        .to_string(),
                },
            };
            let mut json = format!(
                "{{\"topic\":{},\"partition\":{part},\"offset\":{},\"timestamp\":{},\"key\":{key_json},\"value\":{value_json}",
                serde_json::Value::String(p.topic.clone()),
                r.offset,
                r.timestamp_ms
            );
            if let Some((s, e)) = win {
                json.push_str(&format!(",\"window\":{{\"start\":{s},\"end\":{e}}}"));
            }
            // The record's headers, but not those kql writes for itself (kql.src, ...).
            let headers: Vec<(&str, Option<String>)> = r
                .headers
                .iter()
                .filter(|h| !h.name.starts_with("kql."))
                .map(|h| {
                    let text = h.value.as_deref().map(crate::exec::log::header_text);
                    (h.name.as_str(), text)
                })
                .collect();
            if !headers.is_empty() {
                let list: Vec<serde_json::Value> = headers
                    .iter()
                    .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                    .collect();
                json.push_str(&format!(",\"headers\":{}", serde_json::Value::Array(list)));
            }
            json.push('}');
            let mut text = format!(
                "rowtime: {}, key: {}",
                crate::data::value::format_timestamp(r.timestamp_ms),
                key_json
            );
            if let Some((s, e)) = win {
                text.push_str(&format!(
                    " [{} - {}]",
                    crate::data::value::format_timestamp(s),
                    crate::data::value::format_timestamp(e)
                ));
            }
            text.push_str(&format!(", value: {value_json}, partition: {part}"));
            if !headers.is_empty() {
                let list: Vec<String> = headers
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
                    .collect();
                text.push_str(&format!(", headers: [{}]", list.join(", ")));
            }
            out.record(&json, &text);
        }
        Ok(())
    }
}

/// A key as JSON: decoded with the key type of the stream or table on the topic, else as
/// text.
/// Records of a query's inputs it has not read yet: each position against its partition's
/// high watermark.
fn query_lag(log: &dyn super::log::Log, q: &mut super::persistent::Running) -> u64 {
    let mut positions = Vec::new();
    for stage in &mut q.stages {
        match &mut stage.join {
            Some(join) => positions.extend(join.positions().unwrap_or_default()),
            None => positions.extend(
                stage
                    .tasks
                    .iter()
                    .map(|t| (stage.input_topic.clone(), t.partition, t.offset)),
            ),
        }
    }
    positions
        .iter()
        .filter_map(|(topic, p, next)| {
            let offsets = log.offsets(topic, *p).ok()?;
            Some(offsets.high_watermark.saturating_sub(*next))
        })
        .sum()
}

pub fn key_json(def: Option<&crate::plan::SourceDef>, k: &[u8]) -> String {
    let bytes = bytes::Bytes::copy_from_slice(k);
    if let Some(d) = def {
        let keys: Vec<_> = d
            .columns
            .iter()
            .filter(|c| c.role == ColumnRole::Key)
            .collect();
        if let [col] = keys.as_slice() {
            if d.key_format == Format::Kafka {
                if let Ok(v) = decode_kafka(&bytes, &col.ty) {
                    let mut out = Vec::new();
                    super::format::json::write_value(&v, &col.ty, &mut out);
                    return String::from_utf8_lossy(&out).into_owned();
                }
            }
        }
        if d.key_format == Format::Json {
            if let Ok(j) = serde_json::from_slice::<serde_json::Value>(k) {
                return j.to_string();
            }
        }
    }
    serde_json::Value::String(String::from_utf8_lossy(k).into_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use crate::exec::log::{Acks, ProducerRecord, TopicConfig};
    use bytes::Bytes;

    use crate::exec::{Captured, Session};

    /// PRINT reads partitions a fetch at a time; the merge across fetches keeps timestamp
    /// order and stops at the LIMIT.
    #[test]
    fn print_merges_partitions_across_fetches() {
        let log = crate::exec::log::in_memory(1);
        let config = TopicConfig {
            partitions: 2,
            ..Default::default()
        };
        log.create_topic("t", config).unwrap();
        for p in 0..2u32 {
            let records: Vec<ProducerRecord> = (0..10_000i64)
                .map(|i| {
                    let value = Bytes::from(format!("{{\"I\":{i}}}"));
                    ProducerRecord::new(None, Some(value)).with_timestamp(2 * i + p as i64)
                })
                .collect();
            log.produce_records("t", p, &records, Acks::All).unwrap();
        }
        let mut session = Session::new(log);
        let mut out = Captured::default();
        session
            .run_text(
                "print.ksql",
                "PRINT 't' FROM BEGINNING LIMIT 15000;",
                &mut out,
            )
            .unwrap();
        assert_eq!(out.texts.len(), 15_000);
        for (n, line) in out.texts.iter().enumerate() {
            let i = n / 2;
            let p = n % 2;
            assert!(
                line.ends_with(&format!("value: {{\"I\":{i}}}, partition: {p}\n")),
                "{n}: {line}"
            );
        }
    }
}

/// PRINT of a topic that does not exist (found by `kql check`, or when PRINT runs).
pub(crate) fn unknown_topic<'a>(
    p: &ast::Print,
    topics: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::TopicError,
        format!("topic '{}' does not exist", p.topic),
    )
    .label(p.topic_span, "unknown topic");
    match crate::diagnostic::did_you_mean(&p.topic, topics) {
        Some(t) => d.help(format!(
            "did you mean '{t}'? SHOW TOPICS lists the topics; topic names are case-sensitive"
        )),
        None => d.help("SHOW TOPICS lists the topics; topic names are case-sensitive"),
    }
}
