//! The texts kql has loaded (files, REPL entries, scripts), so a diagnostic can show the
//! line it points at long after the text was parsed.

use crate::syntax::span::SourceId;

#[derive(Debug, Default, Clone)]
pub struct Sources {
    texts: Vec<(String, String)>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        self.texts.push((name.into(), text.into()));
        SourceId((self.texts.len() - 1) as u32)
    }

    pub fn name(&self, id: SourceId) -> &str {
        self.texts
            .get(id.0 as usize)
            .map_or("<unknown>", |(n, _)| n)
    }

    pub fn text(&self, id: SourceId) -> &str {
        self.texts.get(id.0 as usize).map_or("", |(_, t)| t)
    }

    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &str, &str)> {
        self.texts
            .iter()
            .enumerate()
            .map(|(i, (n, t))| (SourceId(i as u32), n.as_str(), t.as_str()))
    }
}
