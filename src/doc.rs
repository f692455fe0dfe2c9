//! `btl doc`: the stdlib's documentation, from its doc comments and source.
//!
//! Contract: [`index`] lists every stdlib function by file (the file's opening comment names its
//! family), each with its signature and the first sentence of its doc comment; [`function`] gives
//! one function's signature, whole doc comment and btl source with its file and line, or `None`
//! for a name the stdlib does not define. Both compile the empty program to reach the prelude and
//! do no IO.

use crate::syntax::ast::Item;

/// The first sentence of a doc comment (up to the first `. `), without `Warm-up` lines.
fn first_sentence(doc: &str) -> String {
    let text: Vec<&str> = doc
        .lines()
        .filter(|l| !l.starts_with("Warm-up") && !l.starts_with("`let"))
        .collect();
    let text = text.join(" ");
    match text.find(". ") {
        Some(i) => text[..i].to_string(),
        None => text.trim_end_matches('.').to_string(),
    }
}

/// Every stdlib function, by file.
pub fn index() -> String {
    let c = crate::compile("doc.btl", "", &[]);
    let mut out = String::new();
    let mut file = None;
    for (f, item) in &c.ast.items {
        let Item::Fn(def) = item else { continue };
        let source = c.sources.get(*f);
        if !source.is_stdlib {
            continue;
        }
        if file != Some(*f) {
            file = Some(*f);
            let family = source.line_text(1).trim_start_matches('/').trim();
            out.push_str(&format!("\n{} — {}\n", source.name, family));
        }
        let doc = def.doc.as_deref().map(first_sentence).unwrap_or_default();
        out.push_str(&format!(
            "  {}\n      {doc}\n",
            crate::sema::check::signature(def)
        ));
    }
    out.trim_start().to_string()
}

/// docs/indicators.md: the [`index`] with a heading (a test checks the committed file against it;
/// `btl doc --markdown > docs/indicators.md` rewrites it).
pub fn markdown() -> String {
    format!(
        "# The stdlib's functions\n\nGenerated from the doc comments of `stdlib/*.btl` by `btl doc --markdown`\n(`btl doc NAME` shows one function's documentation and source).\n\n```text\n{}```\n",
        index()
    )
}

/// One stdlib function: signature, doc comment and source, with its file and line.
pub fn function(name: &str) -> Option<String> {
    let c = crate::compile("doc.btl", "", &[]);
    c.ast.items.iter().find_map(|(f, item)| {
        let Item::Fn(def) = item else { return None };
        let source = c.sources.get(*f);
        if !source.is_stdlib || def.name.name != name {
            return None;
        }
        let (line, _) = source.line_col(def.span.start);
        Some(format!(
            "{}\n\n{}\n\n{}:{line}\n{}\n",
            crate::sema::check::signature(def),
            def.doc.as_deref().unwrap_or("(no documentation)"),
            source.name,
            c.sources.snippet(def.span)
        ))
    })
}
