//! The `btl` command line: parses flags, reads files, calls the library, renders, picks the exit
//! code (0 ok, 1 program errors, 2 usage, data or I/O errors). No analysis happens here.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use btl::diag::{Code, Diagnostic, render};
use btl::source::SourceMap;

#[derive(Parser)]
#[command(
    name = "btl",
    version,
    about = "A small language for trading-strategy backtests"
)]
struct Cli {
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check a program: parse, resolve, type-check and size every series.
    Check {
        file: String,
        /// Override a param: NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
    },
    /// Print the memory every series needs: lookback, warm-up, capacity and bytes.
    Mem {
        file: String,
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Explain a diagnostic code, e.g. `btl explain E0200`.
    Explain { code: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match cli.command {
        Command::Check {
            file,
            params,
            message_format,
        } => check(&file, &params, message_format, color),
        Command::Mem { file, params, json } => mem(&file, &params, json, color),
        Command::Explain { code } => explain(&code),
    }
}

fn explain(code: &str) -> ExitCode {
    match Code::parse(code) {
        Some(c) => {
            print!("{}", c.explanation());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: `{code}` is not a btl diagnostic code");
            let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            eprintln!("  = note: the codes are {}", all.join(", "));
            ExitCode::from(2)
        }
    }
}

/// Reads the program and compiles it; `Err` carries the exit code after printing the problem.
fn load(
    path: &str,
    params: &[String],
    format: MessageFormat,
    color: bool,
) -> Result<btl::Compilation, ExitCode> {
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "error: {path}: not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                );
                return Err(ExitCode::from(2));
            }
        },
        Err(e) => {
            eprintln!("error: cannot read {path}: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let mut overrides = Vec::new();
    let mut bad = Vec::new();
    for p in params {
        match btl::parse_param_arg(p) {
            Ok(kv) => overrides.push(kv),
            Err(d) => bad.push(d),
        }
    }
    if !bad.is_empty() {
        let sources = SourceMap::new();
        emit(&bad, &sources, format, color);
        return Err(ExitCode::from(1));
    }
    Ok(btl::compile(path, &text, &overrides))
}

fn emit(diags: &[Diagnostic], sources: &SourceMap, format: MessageFormat, color: bool) {
    match format {
        MessageFormat::Human => {
            let mut err = std::io::stderr().lock();
            for d in diags {
                let _ = write!(err, "{}", render::human(d, sources, color));
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let warnings = diags.len() - errors;
            if errors > 0 {
                let _ = writeln!(
                    err,
                    "error: {errors} error{}{}; `btl explain CODE` explains a code",
                    if errors == 1 { "" } else { "s" },
                    if warnings > 0 {
                        format!(
                            ", {warnings} warning{}",
                            if warnings == 1 { "" } else { "s" }
                        )
                    } else {
                        String::new()
                    }
                );
            }
        }
        MessageFormat::Json => {
            let mut out = std::io::stdout().lock();
            for d in diags {
                let _ = writeln!(out, "{}", render::json(d, sources));
            }
        }
    }
}

fn check(path: &str, params: &[String], format: MessageFormat, color: bool) -> ExitCode {
    let c = match load(path, params, format, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    emit(&c.diagnostics, &c.sources, format, color);
    if c.has_errors() {
        return ExitCode::from(1);
    }
    if format == MessageFormat::Human
        && let Some(p) = &c.program
    {
        {
            eprintln!(
                "ok: strategy `{}`: {} series, {} bytes of buffers, warm-up bar {}",
                p.name,
                p.order.len(),
                p.total_bytes(),
                btl::mem::report(p, &c.sources)
                    .warmup
                    .map_or("never".to_string(), |w| w.to_string())
            );
        }
    }
    ExitCode::SUCCESS
}

fn mem(path: &str, params: &[String], json: bool, color: bool) -> ExitCode {
    let c = match load(path, params, MessageFormat::Human, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    emit(&c.diagnostics, &c.sources, MessageFormat::Human, color);
    let (false, Some(p)) = (c.has_errors(), &c.program) else {
        return ExitCode::from(1);
    };
    let report = btl::mem::report(p, &c.sources);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", btl::mem::table(&report, &p.name));
    }
    ExitCode::SUCCESS
}
