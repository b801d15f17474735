//! Printers for results: aligned tables (comfy-table) or JSON lines. Status lines and
//! warnings always go to stderr, so stdout holds only results.

use std::io::Write;

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

use super::OutputFormat;
use crate::data::{SqlType, Value};
use crate::exec::format::json::encode_object;
use crate::exec::{Output, ResultColumn};

pub struct Printer<W: Write> {
    format: OutputFormat,
    out: W,
    columns: Vec<ResultColumn>,
    rows: Vec<Vec<Value>>,
    /// Rows of the current result already printed (a live query prints in bursts).
    printed: bool,
    buf: Vec<u8>,
}

/// Rows held before a table is printed; a longer result prints as several tables.
const TABLE_ROWS_MAX: usize = 10_000;

impl<W: Write> Printer<W> {
    pub fn new(format: OutputFormat, out: W) -> Printer<W> {
        Printer {
            format,
            out,
            columns: Vec::new(),
            rows: Vec::new(),
            printed: false,
            buf: Vec::new(),
        }
    }

    fn flush_table(&mut self) {
        self.printed = true;
        let mut table = Table::new();
        table
            .load_preset(presets::ASCII_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        table.set_header(self.columns.iter().map(|c| Cell::new(&c.name)));
        for r in self.rows.drain(..) {
            table.add_row(r.iter().zip(&self.columns).map(|(v, c)| {
                let cell = Cell::new(v.to_string());
                if c.ty.is_numeric() {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        let _ = writeln!(self.out, "{table}");
    }
}

impl<W: Write> Output for Printer<W> {
    fn begin(&mut self, columns: &[ResultColumn]) {
        self.columns = columns.to_vec();
        self.rows.clear();
        self.printed = false;
    }

    fn row(&mut self, values: &[Value]) {
        match self.format {
            OutputFormat::Table => {
                self.rows.push(values.to_vec());
                if self.rows.len() >= TABLE_ROWS_MAX {
                    self.flush_table();
                }
            }
            OutputFormat::Json => {
                self.buf.clear();
                let cols: Vec<(&str, &SqlType, &Value)> = self
                    .columns
                    .iter()
                    .zip(values)
                    .map(|(c, v)| (c.name.as_str(), &c.ty, v))
                    .collect();
                encode_object(&cols, &mut self.buf);
                self.buf.push(b'\n');
                let _ = self.out.write_all(&self.buf);
            }
        }
    }

    fn end(&mut self) {
        if self.format == OutputFormat::Table {
            if !self.rows.is_empty() {
                self.flush_table();
            } else if !self.printed {
                let _ = writeln!(self.out, "(no rows)");
            }
        }
        let _ = self.out.flush();
    }

    fn flush_rows(&mut self) {
        if self.format == OutputFormat::Table && !self.rows.is_empty() {
            self.flush_table();
        }
        let _ = self.out.flush();
    }

    fn text(&mut self, text: &str) {
        match self.format {
            OutputFormat::Table => {
                let _ = self.out.write_all(text.as_bytes());
            }
            OutputFormat::Json => {
                self.buf.clear();
                encode_object(
                    &[("text", &SqlType::String, &Value::string(text))],
                    &mut self.buf,
                );
                self.buf.push(b'\n');
                let _ = self.out.write_all(&self.buf);
            }
        }
        let _ = self.out.flush();
    }

    fn record(&mut self, json: &str, text: &str) {
        let line = match self.format {
            OutputFormat::Json => json,
            OutputFormat::Table => text,
        };
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.write_all(b"\n");
    }

    fn status(&mut self, message: &str) {
        let _ = self.out.flush();
        eprintln!("{message}");
    }

    fn warning(&mut self, message: &str) {
        let _ = self.out.flush();
        eprintln!("warning: {message}");
    }
}
