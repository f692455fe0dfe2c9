//! The Cranelift JIT: a [`BarProgram`] compiled, with the engine's bar loop around it, to one
//! native function per strategy, run by the engine in place of the interpreter.
//!
//! Contract: [`Jit::compile`] translates the whole bar protocol of `crate::runtime::engine` (the
//! broker's turn when orders are pending, head advance and input stores, the program's loads,
//! stores, arithmetic, branches and loops, fill-on-close, equity marking and drawdown) over a
//! batch of bars into one function `extern "C" fn(*mut JitCtx) -> i32`. The broker and the sink
//! stay in Rust, behind [`abi`]: compiled code calls the host only when it must (orders pending,
//! an order placed, the sink log full) and appends plots and bar ends to the sink log; the few
//! math functions Cranelift has no instruction for are host functions too. The code computes
//! exactly what `crate::runtime::engine::reference_bar` and `crate::interp` compute, operation by
//! operation, from the same definitions (`crate::value`): results agree bit for bit, NaN payloads
//! aside (every NaN is `na`). The heads of the first four rings, and the values of small slots
//! never read at a computed index, live in registers for the whole batch and are written back at
//! its end. Ring-buffer
//! reads need no bounds check: immediate indices are at most the slot's lookback by lowering, and
//! register indices are range-checked against the capacity (NaN or out of range reads `na`, as in
//! the interpreter). All `unsafe` lives in [`abi`]. [`asm`] gives the machine code
//! (`btl run --emit asm`).

pub mod abi;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{AbiParam, Block, InstBuilder, MemFlagsData, Value, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, ir};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module};

use crate::ir::{Back, BarProgram, Inst};
use crate::runtime::engine::{Engine, LoopState};
use crate::runtime::feed::Bar;
use crate::runtime::machine::{Host, Machine};
use crate::sema::builtins::{Builtin, FillField, Input};
use crate::syntax::ast::{BinOp, UnOp};
use abi::{HOST_FUNCTIONS, LogEntry, LoopFn, Ty, offset};

/// A compiled program, ready to run bars.
pub struct Jit {
    /// Owns the code `run` points into; its memory is freed when the `Jit` is dropped.
    module: Option<JITModule>,
    run: LoopFn,
    /// The sink log compiled code writes into.
    log: Vec<LogEntry>,
    /// The CLIF text of the function, before optimisation.
    pub clif: String,
    /// The machine code, when asked for.
    pub asm: Option<String>,
}

impl Engine for Jit {
    fn run_bars(
        &mut self,
        _p: &BarProgram,
        m: &mut Machine,
        bars: &[Bar],
        frames: &[f64],
        state: &mut LoopState,
        host: &mut dyn Host,
    ) -> Result<(), String> {
        self.run.call(m, bars, frames, state, &mut self.log, host)
    }
}

/// Past this many branches, orders and plots (each a few blocks, and effects a call), the
/// backtracking register allocator's work grows faster than the program (measured in a debug
/// build: 4,000 `if`s with an order took 4.4 s and 220 MB): such a program is compiled with the
/// single-pass allocator, linear in its size, at the cost of more spills in its loop.
pub const LARGE_PROGRAM: usize = 1_500;

/// Whether `p` is compiled as a large program (see [`LARGE_PROGRAM`]).
pub fn is_large(p: &BarProgram) -> bool {
    let sites = p
        .code
        .iter()
        .filter(|i| {
            matches!(
                i,
                Inst::BranchFalse { .. }
                    | Inst::Jump { .. }
                    | Inst::Order { .. }
                    | Inst::Plot { .. }
            )
        })
        .count();
    sites > LARGE_PROGRAM
}

fn isa(large: bool) -> Result<std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>, String> {
    let mut flags = settings::builder();
    let regalloc = if large { "single_pass" } else { "backtracking" };
    for (k, v) in [
        ("use_colocated_libcalls", "false"),
        ("is_pic", "false"),
        ("opt_level", "speed"),
        ("regalloc_algorithm", regalloc),
    ] {
        flags.set(k, v).map_err(|e| e.to_string())?;
    }
    if cfg!(debug_assertions) {
        flags
            .set("enable_verifier", "true")
            .map_err(|e| e.to_string())?;
    }
    let isa = cranelift_native::builder().map_err(|e| e.to_string())?;
    isa.finish(settings::Flags::new(flags))
        .map_err(|e| e.to_string())
}

impl Jit {
    /// Compiles `p`. An error here is a bug in the translator (or an unsupported machine).
    pub fn compile(p: &BarProgram) -> Result<Jit, String> {
        Jit::compile_inner(p, false)
    }

    fn compile_inner(p: &BarProgram, want_asm: bool) -> Result<Jit, String> {
        let isa = isa(is_large(p))?;
        let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        for f in HOST_FUNCTIONS {
            builder.symbol(f.name, (f.addr)());
        }
        let mut module = JITModule::new(builder);
        let ptr = module.target_config().pointer_type();
        let ty = |t: Ty| match t {
            Ty::Ptr => ptr,
            Ty::I64 => types::I64,
            Ty::I32 => types::I32,
            Ty::F64 => types::F64,
        };

        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(ptr));
        sig.returns.push(AbiParam::new(types::I32));
        let func_id = module
            .declare_function("btl_run", Linkage::Export, &sig)
            .map_err(|e| e.to_string())?;

        // Effects (the host functions returning a status) are called through a trampoline of
        // the `preserve_all` convention, which stores the status in the context: their calls sit
        // in the bar loop, and a call that clobbers no register keeps the loop's values in
        // registers around it.
        let mut hosts = Vec::new();
        let mut fctx = FunctionBuilderContext::new();
        for f in HOST_FUNCTIONS {
            let mut s = module.make_signature();
            s.params
                .extend(f.params.iter().map(|&t| AbiParam::new(ty(t))));
            s.returns.push(AbiParam::new(ty(f.result)));
            let id = module
                .declare_function(f.name, Linkage::Import, &s)
                .map_err(|e| e.to_string())?;
            if f.result != Ty::I32 {
                hosts.push((f.name, id));
                continue;
            }
            let mut t = s.clone();
            t.returns.clear();
            t.call_conv = cranelift_codegen::isa::CallConv::PreserveAll;
            let tid = module
                .declare_function(&format!("{}_preserve_all", f.name), Linkage::Local, &t)
                .map_err(|e| e.to_string())?;
            let mut ctx = module.make_context();
            ctx.func.signature = t;
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let callee = module.declare_func_in_func(id, b.func);
                let block = b.create_block();
                b.append_block_params_for_function_params(block);
                b.switch_to_block(block);
                let args = b.block_params(block).to_vec();
                let call = b.ins().call(callee, &args);
                let status = b.inst_results(call)[0];
                b.ins()
                    .store(MemFlagsData::trusted(), status, args[0], offset::STATUS);
                b.ins().return_(&[]);
                b.seal_all_blocks();
                b.finalize(module.isa().frontend_config());
            }
            module
                .define_function(tid, &mut ctx)
                .map_err(|e| format!("{e:?}"))?;
            module.clear_context(&mut ctx);
            hosts.push((f.name, tid));
        }

        let mut ctx = module.make_context();
        ctx.func.signature = sig;
        translate(p, &mut module, &mut ctx, &mut fctx, &hosts, ptr)?;
        let clif = ctx.func.display().to_string();
        ctx.set_disasm(want_asm);
        module
            .define_function(func_id, &mut ctx)
            .map_err(|e| format!("{e:?}"))?;
        let asm = if want_asm {
            ctx.compiled_code().and_then(|c| c.vcode.clone())
        } else {
            None
        };
        module.clear_context(&mut ctx);
        module.finalize_definitions().map_err(|e| e.to_string())?;
        let run = LoopFn::finalized(&module, func_id, p);
        Ok(Jit {
            module: Some(module),
            run,
            log: vec![LogEntry::default(); LogEntry::CAPACITY],
            clif,
            asm,
        })
    }
}

/// The CLIF text of a program's batch function (`btl run --emit clif`).
pub fn clif(p: &BarProgram) -> Result<String, String> {
    Jit::compile(p).map(|mut j| std::mem::take(&mut j.clif))
}

/// The machine code of a program's batch function, as Cranelift prints it (`btl run --emit asm`).
pub fn asm(p: &BarProgram) -> Result<String, String> {
    Jit::compile_inner(p, true).map(|mut j| j.asm.take().unwrap_or_default())
}

/// What every part of the batch function refers to: the context, the buffer array, the host
/// functions, and where a failed host call goes.
struct Frame {
    ctx: Value,
    buf: Value,
    hosts: Vec<(&'static str, ir::FuncRef)>,
    /// The status of the last effect call.
    status: Variable,
    /// The end of the batch.
    exit: Block,
}

impl Frame {
    fn host(&self, name: &str) -> ir::FuncRef {
        self.hosts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
            .expect("every host function is declared")
    }

    /// A value of the context.
    fn load(&self, b: &mut FunctionBuilder, ty: ir::Type, at: i32) -> Value {
        b.ins().load(ty, MemFlagsData::trusted(), self.ctx, at)
    }

    /// Calls an effect (through its trampoline, which leaves the status in the context): on a
    /// non-zero status, to the exit, else to `then`. `args[0]` is the context.
    fn effect(&self, b: &mut FunctionBuilder, name: &str, args: &[Value], then: Block) {
        b.ins().call(self.host(name), args);
        let s = self.load(b, types::I32, offset::STATUS);
        b.def_var(self.status, s);
        b.ins().brif(s, self.exit, &[], then, &[]);
    }

    /// Appends an entry to the sink log (see [`abi`]), replaying the log first when it is full.
    /// Ends in a new block.
    fn log(&self, b: &mut FunctionBuilder, index: Value, bar: Value, value: Value) {
        let flags = MemFlagsData::trusted();
        let written = self.load(b, types::I64, offset::LOG_LEN);
        let cap = self.load(b, types::I64, offset::LOG_CAP);
        let full = b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, written, cap);
        let flush = b.create_block();
        let replayed = b.create_block();
        let append = b.create_block();
        // The entries written: as loaded, or none once the full log is replayed.
        let len = b.append_block_param(append, types::I64);
        b.ins().brif(full, flush, &[], append, &[written.into()]);
        // Each block is sealed as soon as its predecessors are all known, so variables read
        // later resolve as the code is built (sealing only at the end made the frontend's work
        // and memory grow with blocks × variables: quadratic in the number of plots).
        b.seal_block(flush);
        b.switch_to_block(flush);
        self.effect(b, "btl_flush", &[self.ctx], replayed);
        b.seal_block(replayed);
        b.switch_to_block(replayed);
        let empty = b.ins().iconst(types::I64, 0);
        b.ins().jump(append, &[empty.into()]);
        b.seal_block(append);
        b.switch_to_block(append);
        let log = self.load(b, types::I64, offset::LOG);
        let at = b.ins().imul_imm_s(len, offset::LOG_ENTRY_SIZE);
        let at = b.ins().iadd(log, at);
        b.ins().store(flags, index, at, offset::LOG_INDEX);
        b.ins().store(flags, bar, at, offset::LOG_BAR);
        b.ins().store(flags, value, at, offset::LOG_VALUE);
        let len = b.ins().iadd_imm_s(len, 1);
        b.ins().store(flags, len, self.ctx, offset::LOG_LEN);
    }
}

/// The translation of one bar's program (step 3 of the bar protocol).
struct Tx<'a, 'b, 'f> {
    b: &'f mut FunctionBuilder<'b>,
    f: &'f Frame,
    p: &'a BarProgram,
    regs: &'f [Variable],
    /// Registers read outside their block (frontend variables); see [`crossing_registers`].
    crossing: &'f [bool],
    /// Each register's value defined so far in the current block of the program (it dominates
    /// the rest of the block, whatever blocks the translation adds inside it).
    local: std::collections::HashMap<u32, Value>,
    vars: Value,
    /// This bar's index (i64) and a pointer to it.
    bar: Value,
    bar_ptr: Value,
    /// This bar's frame (see `BarProgram::frame_len`), with several clocks.
    frame_ptr: Option<Value>,
    /// Every slot's head on this bar.
    heads: Vec<Value>,
    /// Per slot held in registers, its values (k bars back at index k).
    held: &'f [Option<Vec<Variable>>],
    /// For registers holding a bool computed in the current block, its truth as an `i8` (`value ==
    /// 1.0`), so conditions skip rebuilding it from the `f64`.
    truth: std::collections::HashMap<u32, (Block, Value, bool)>,
    /// Registers loaded with a constant (each register has one defining instruction).
    consts: std::collections::HashMap<u32, f64>,
}

/// Where a slot's head is kept during a batch.
enum Head {
    /// A shift register has none (always 0).
    Shift,
    /// In a CPU register (an `i64` variable), for the first [`HEADS_MAX`] rings.
    Register(Variable),
    /// In the machine's array, loaded and stored each bar, for the other rings: a program with
    /// thousands of rings would otherwise carry thousands of values around the loop.
    Memory,
}

/// At most this many ring heads are kept in CPU registers for a batch.
const HEADS_MAX: usize = 4;

/// Loop-carried values of the batch function, as frontend variables.
struct Carried {
    /// The index of this bar (i64) and a pointer to it.
    bar: Variable,
    bar_ptr: Variable,
    /// A pointer to this bar's frame (programs with several clocks).
    frame_ptr: Option<Variable>,
    /// Per slot, where its head is.
    heads: Vec<Head>,
    /// The machine's array of heads.
    heads_ptr: Value,
    /// Per shift register held in registers for the batch, its values (see [`held_slots`]).
    held: Vec<Option<Vec<Variable>>>,
    peak: Variable,
    max_dd: Variable,
    value: Variable,
}

impl Carried {
    /// The loop state's variables and where the context keeps them between batches.
    fn loop_state(&self) -> [(Variable, i32); 3] {
        [
            (self.peak, offset::PEAK),
            (self.max_dd, offset::MAX_DD),
            (self.value, offset::VALUE),
        ]
    }

    /// Declares the variables and loads their values at the start of a batch.
    fn load(b: &mut FunctionBuilder, f: &Frame, p: &BarProgram, heads_ptr: Value) -> Carried {
        let flags = MemFlagsData::trusted();
        let mut rings = 0;
        let heads = p
            .slots
            .iter()
            .enumerate()
            .map(|(k, slot)| {
                if slot.is_shift() {
                    return Head::Shift;
                }
                rings += 1;
                if rings > HEADS_MAX {
                    return Head::Memory;
                }
                let v = b.declare_var(types::I64);
                let h = b.ins().load(types::I32, flags, heads_ptr, (k * 4) as i32);
                let h = b.ins().uextend(types::I64, h);
                b.def_var(v, h);
                Head::Register(v)
            })
            .collect();
        let held = held_slots(p)
            .into_iter()
            .zip(&p.slots)
            .map(|(held, slot)| {
                held.then(|| {
                    (0..slot.capacity)
                        .map(|k| {
                            let v = b.declare_var(types::F64);
                            let at = ((slot.offset + k) * 8) as i32;
                            let x = b.ins().load(types::F64, flags, f.buf, at);
                            b.def_var(v, x);
                            v
                        })
                        .collect()
                })
            })
            .collect();
        let c = Carried {
            bar: b.declare_var(types::I64),
            bar_ptr: b.declare_var(types::I64),
            frame_ptr: (p.frame_len > 0).then(|| b.declare_var(types::I64)),
            heads,
            heads_ptr,
            held,
            peak: b.declare_var(types::F64),
            max_dd: b.declare_var(types::F64),
            value: b.declare_var(types::F64),
        };
        let bar = f.load(b, types::I64, offset::BAR);
        b.def_var(c.bar, bar);
        let bar_ptr = f.load(b, types::I64, offset::BARS);
        b.def_var(c.bar_ptr, bar_ptr);
        if let Some(var) = c.frame_ptr {
            let frame_ptr = f.load(b, types::I64, offset::FRAMES);
            b.def_var(var, frame_ptr);
        }
        for (var, at) in c.loop_state() {
            let v = f.load(b, types::F64, at);
            b.def_var(var, v);
        }
        c
    }

    /// Step 2, first half: every ring's head advances and every shift register moves up (with
    /// several clocks, only those of the clocks that ticked in this bar's frame); the heads of
    /// this bar.
    fn advance(
        &self,
        b: &mut FunctionBuilder,
        f: &Frame,
        p: &BarProgram,
        frame_ptr: Option<Value>,
    ) -> Vec<Value> {
        let flags = MemFlagsData::trusted();
        let slots = p.slots.iter().enumerate().zip(&self.heads).zip(&self.held);
        let next = |b: &mut FunctionBuilder, h: Value, cap: u32| {
            let next = b.ins().iadd_imm_s(h, 1);
            let wrap = b.ins().icmp_imm_s(IntCC::Equal, next, i64::from(cap));
            let zero = b.ins().iconst(types::I64, 0);
            b.ins().select(wrap, zero, next)
        };
        // Per clock of its own, whether it ticked (an `i8`), computed once.
        let mut ticks: std::collections::HashMap<u32, Value> = std::collections::HashMap::new();
        let mut tick = |b: &mut FunctionBuilder, clock: u32| -> Option<Value> {
            let frame_ptr = frame_ptr.filter(|_| clock != 0)?;
            Some(
                *ticks
                    .entry(clock)
                    .or_insert_with(|| tick_of(b, frame_ptr, clock)),
            )
        };
        // `new` where the slot's clock ticked, else `old`.
        let pick = |b: &mut FunctionBuilder, t: Option<Value>, new: Value, old: Value| match t {
            Some(t) => b.ins().select(t, new, old),
            None => new,
        };
        slots
            .map(|(((k, slot), head), held)| {
                let t = tick(b, slot.clock);
                match (head, held) {
                    (Head::Register(var), _) => {
                        let old = b.use_var(*var);
                        let h = next(b, old, slot.capacity);
                        let h = pick(b, t, h, old);
                        b.def_var(*var, h);
                        h
                    }
                    (Head::Memory, _) => {
                        let at = (k * 4) as i32;
                        let old = b.ins().load(types::I32, flags, self.heads_ptr, at);
                        let old = b.ins().uextend(types::I64, old);
                        let h = next(b, old, slot.capacity);
                        let h = pick(b, t, h, old);
                        let h32 = b.ins().ireduce(types::I32, h);
                        b.ins().store(flags, h32, self.heads_ptr, at);
                        h
                    }
                    (Head::Shift, Some(held)) => {
                        for k in (1..held.len()).rev() {
                            let mut v = b.use_var(held[k - 1]);
                            if t.is_some() {
                                let old = b.use_var(held[k]);
                                v = pick(b, t, v, old);
                            }
                            b.def_var(held[k], v);
                        }
                        b.ins().iconst(types::I64, 0)
                    }
                    (Head::Shift, None) => {
                        for k in (1..slot.capacity).rev() {
                            let at = ((slot.offset + k) * 8) as i32;
                            let v = b.ins().load(types::F64, flags, f.buf, at - 8);
                            let v = match t {
                                Some(_) => {
                                    let old = b.ins().load(types::F64, flags, f.buf, at);
                                    pick(b, t, v, old)
                                }
                                None => v,
                            };
                            b.ins().store(flags, v, f.buf, at);
                        }
                        b.ins().iconst(types::I64, 0)
                    }
                }
            })
            .collect()
    }

    /// Step 5, after the sink: the peak and the largest drawdown, as `LoopState::mark`.
    fn mark(&self, b: &mut FunctionBuilder, value: Value, next: Block) {
        let zero = b.ins().f64const(0.0);
        let peak = b.use_var(self.peak);
        let higher = b.ins().fcmp(FloatCC::GreaterThan, value, peak);
        let peak = b.ins().select(higher, value, peak);
        b.def_var(self.peak, peak);
        let max_dd = b.use_var(self.max_dd);
        let positive = b.ins().fcmp(FloatCC::GreaterThan, peak, zero);
        let one = b.ins().f64const(1.0);
        let keep = b.ins().fsub(one, max_dd);
        let limit = b.ins().fmul(peak, keep);
        let below = b.ins().fcmp(FloatCC::LessThan, value, limit);
        let maybe = b.ins().band(positive, below);
        let deeper = b.create_block();
        b.ins().brif(maybe, deeper, &[], next, &[]);
        b.switch_to_block(deeper);
        let fall = b.ins().fsub(peak, value);
        let dd = b.ins().fdiv(fall, peak);
        let more = b.ins().fcmp(FloatCC::GreaterThan, dd, max_dd);
        let dd = b.ins().select(more, dd, max_dd);
        b.def_var(self.max_dd, dd);
        b.ins().jump(next, &[]);
    }

    /// The end of a batch: held values, heads and loop state go back to memory.
    fn store(&self, b: &mut FunctionBuilder, f: &Frame, p: &BarProgram) {
        let flags = MemFlagsData::trusted();
        for (slot, held) in p.slots.iter().zip(&self.held) {
            for (k, var) in held.iter().flatten().enumerate() {
                let v = b.use_var(*var);
                let at = ((slot.offset + k as u32) * 8) as i32;
                b.ins().store(flags, v, f.buf, at);
            }
        }
        for (k, head) in self.heads.iter().enumerate() {
            if let Head::Register(var) = head {
                let h = b.use_var(*var);
                let h = b.ins().ireduce(types::I32, h);
                b.ins().store(flags, h, self.heads_ptr, (k * 4) as i32);
            }
        }
        for (var, at) in self.loop_state() {
            let v = b.use_var(var);
            b.ins().store(flags, v, f.ctx, at);
        }
        let bar = b.use_var(self.bar);
        b.ins().store(flags, bar, f.ctx, offset::BAR);
    }
}

/// Whether `clock` (≥ 1) ticked in the frame at `frame_ptr`: an `i8`.
fn tick_of(b: &mut FunctionBuilder, frame_ptr: Value, clock: u32) -> Value {
    let flags = MemFlagsData::trusted();
    let at = (crate::ir::tick_at(clock) * 8) as i32;
    let t = b.ins().load(types::F64, flags, frame_ptr, at);
    let zero = b.ins().f64const(0.0);
    b.ins().fcmp(FloatCC::NotEqual, t, zero)
}

/// The instructions that start a block: the first, every jump target, every one after a jump.
fn block_starts(p: &BarProgram) -> Vec<bool> {
    let n = p.code.len();
    let mut starts = vec![false; n + 1];
    starts[0] = true;
    for (pc, inst) in p.code.iter().enumerate() {
        if let Inst::Jump { target } | Inst::BranchFalse { target, .. } = *inst {
            starts[target as usize] = true;
            starts[pc + 1] = true;
        }
    }
    starts
}

/// The register an instruction defines, and the ones it reads.
fn reg_def_uses(inst: &Inst) -> (Option<u32>, Vec<u32>) {
    match *inst {
        Inst::Const { dst, .. }
        | Inst::GetVar { dst, .. }
        | Inst::Fill { dst, .. }
        | Inst::Tick { dst, .. } => (Some(dst), vec![]),
        Inst::Load { dst, back, .. } => match back {
            Back::Reg(r) => (Some(dst), vec![r]),
            Back::Imm(_) => (Some(dst), vec![]),
        },
        Inst::Store { src, .. } | Inst::SetVar { src, .. } | Inst::Plot { src, .. } => {
            (None, vec![src])
        }
        Inst::Unary { dst, a, .. } => (Some(dst), vec![a]),
        Inst::Binary { dst, a, b, .. } | Inst::Call { dst, a, b, .. } => (Some(dst), vec![a, b]),
        Inst::Select { dst, cond, a, b } => (Some(dst), vec![cond, a, b]),
        Inst::Jump { .. } => (None, vec![]),
        Inst::BranchFalse { cond, .. } => (None, vec![cond]),
        Inst::Order { args, argc, .. } => (None, args[..argc as usize].to_vec()),
        Inst::WindowSum { dst, new, old, .. } => (Some(dst), vec![new, old]),
    }
}

/// Per register, whether it is read outside the block of the program that defines it. Only such
/// registers are frontend variables; the others stay plain SSA values of their block. (A variable
/// costs the frontend a table entry per block it is defined or read in: one variable per register
/// made memory grow with registers × blocks, 800 MB for 8,000 plots.)
fn crossing_registers(p: &BarProgram, starts: &[bool]) -> Vec<bool> {
    let mut block_of_def: Vec<Option<usize>> = vec![None; p.regs as usize];
    let mut crossing = vec![false; p.regs as usize];
    let mut block = 0usize;
    for (pc, inst) in p.code.iter().enumerate() {
        if pc > 0 && starts[pc] {
            block += 1;
        }
        let (def, uses) = reg_def_uses(inst);
        for r in uses {
            if let Some(c) = crossing.get_mut(r as usize)
                && block_of_def[r as usize] != Some(block)
            {
                *c = true;
            }
        }
        if let Some(d) = def
            && let Some(slot) = block_of_def.get_mut(d as usize)
        {
            if slot.is_some_and(|b| b != block) {
                crossing[d as usize] = true;
            }
            *slot = Some(block);
        }
    }
    crossing
}

/// The batch function: the bar protocol of `crate::runtime::engine` in a loop over the batch.
fn translate(
    p: &BarProgram,
    module: &mut JITModule,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    host_ids: &[(&'static str, FuncId)],
    ptr: ir::Type,
) -> Result<(), String> {
    let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
    let hosts: Vec<(&'static str, ir::FuncRef)> = host_ids
        .iter()
        .map(|(n, id)| (*n, module.declare_func_in_func(*id, b.func)))
        .collect();
    let flags = MemFlagsData::trusted();
    let entry = b.create_block();
    let header = b.create_block();
    let open = b.create_block();
    let bar_start = b.create_block();
    let blocks: Vec<Option<Block>> = block_starts(p)
        .iter()
        .map(|&s| s.then(|| b.create_block()))
        .collect();
    let bar_end = b.create_block();
    let exit = b.create_block();

    // Entry: the batch's pointers, flags and loop state.
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let ctx_ptr = b.block_params(entry)[0];
    let buf = b.ins().load(ptr, flags, ctx_ptr, offset::BUF);
    let status = b.declare_var(types::I32);
    let f = Frame {
        ctx: ctx_ptr,
        buf,
        hosts,
        status,
        exit,
    };
    let heads_ptr = f.load(&mut b, ptr, offset::HEADS);
    let vars = f.load(&mut b, ptr, offset::VARS);
    let bars = f.load(&mut b, ptr, offset::BARS);
    let count = f.load(&mut b, types::I64, offset::N);
    let size = b.ins().imul_imm_s(count, offset::BAR_SIZE);
    let end = b.ins().iadd(bars, size);
    let fill_on_close = f.load(&mut b, types::I32, offset::FILL_ON_CLOSE);
    let wants_bars = f.load(&mut b, types::I32, offset::WANTS_BARS);
    let carried = Carried::load(&mut b, &f, p, heads_ptr);
    let zero32 = b.ins().iconst(types::I32, 0);
    b.def_var(status, zero32);
    let regs: Vec<Variable> = (0..p.regs).map(|_| b.declare_var(types::F64)).collect();
    b.ins().jump(header, &[]);

    // Header: the next bar, or the end of the batch.
    b.switch_to_block(header);
    let bar_ptr = b.use_var(carried.bar_ptr);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, bar_ptr, end);
    b.ins().brif(more, open, &[], exit, &[]);

    // Step 1: the brokers' turn, only when orders are pending (each symbol's broker acts on
    // its feed's bars: the host reads the frame).
    b.switch_to_block(open);
    let bar = b.use_var(carried.bar);
    let frame_ptr = carried.frame_ptr.map(|v| b.use_var(v));
    let pending = f.load(&mut b, types::F64, offset::PENDING);
    let zero = b.ins().f64const(0.0);
    let any = b.ins().fcmp(FloatCC::NotEqual, pending, zero);
    let call_open = b.create_block();
    b.ins().brif(any, call_open, &[], bar_start, &[]);
    b.switch_to_block(call_open);
    f.effect(&mut b, "btl_open_bar", &[ctx_ptr, bar, bar_ptr], bar_start);

    // Step 2: heads advance (shift registers move up), inputs are stored.
    b.switch_to_block(bar_start);
    let heads = carried.advance(&mut b, &f, p, frame_ptr);
    for ((slot, &h), held) in p.slots.iter().zip(&heads).zip(&carried.held) {
        let v = match (slot.input, slot.frame) {
            (Some(Input::Equity), _) if p.symbols.len() > 1 => {
                Some(equity_value(&mut b, p, ctx_ptr, bar_ptr, frame_ptr))
            }
            (Some(input), _) => Some(input_value(
                &mut b,
                input,
                ctx_ptr,
                bar_ptr,
                bar,
                slot.symbol,
            )),
            (None, Some(at)) => {
                frame_ptr.map(|fp| b.ins().load(types::F64, flags, fp, (at * 8) as i32))
            }
            (None, None) => None,
        };
        if let Some(v) = v {
            if let Some(held) = held {
                b.def_var(held[0], v);
                continue;
            }
            let addr = b.ins().ishl_imm_u(h, 3);
            let addr = b.ins().iadd(buf, addr);
            b.ins().store(flags, v, addr, (slot.offset * 8) as i32);
        }
    }
    // Every register read across blocks starts the bar as `na` (lowering defines each before
    // reading it); the others are defined in their block before they are read.
    let crossing = crossing_registers(p, &block_starts(p));
    let nan = b.ins().f64const(f64::NAN);
    for (&r, _) in regs.iter().zip(&crossing).filter(|(_, c)| **c) {
        b.def_var(r, nan);
    }
    b.ins().jump(blocks[0].expect("block 0 exists"), &[]);

    // Step 3: the program.
    let mut tx = Tx {
        b: &mut b,
        f: &f,
        p,
        regs: &regs,
        crossing: &crossing,
        local: std::collections::HashMap::new(),
        vars,
        bar,
        bar_ptr,
        frame_ptr,
        heads,
        held: &carried.held,
        truth: std::collections::HashMap::new(),
        consts: std::collections::HashMap::new(),
    };
    let mut terminated = true;
    for (pc, block) in blocks.iter().enumerate() {
        if let Some(block) = *block {
            if !terminated {
                tx.b.ins().jump(block, &[]);
            }
            tx.b.switch_to_block(block);
            // Values of the previous block do not dominate this one.
            tx.local.clear();
        }
        match p.code.get(pc) {
            Some(inst) => terminated = tx.inst(inst, pc, &blocks),
            None => {
                tx.b.ins().jump(bar_end, &[]);
            }
        }
    }

    // Step 4: fill-on-close, only when asked and orders are pending.
    b.switch_to_block(bar_end);
    let asked = b.create_block();
    let call_close = b.create_block();
    let mark = b.create_block();
    b.ins().brif(fill_on_close, asked, &[], mark, &[]);
    b.switch_to_block(asked);
    let pending = f.load(&mut b, types::F64, offset::PENDING);
    let any = b.ins().fcmp(FloatCC::NotEqual, pending, zero);
    b.ins().brif(any, call_close, &[], mark, &[]);
    b.switch_to_block(call_close);
    f.effect(&mut b, "btl_close_bar", &[ctx_ptr, bar, bar_ptr], mark);

    // Step 5: equity at the close, the sink, the peak and the drawdown.
    b.switch_to_block(mark);
    let value = equity_value(&mut b, p, ctx_ptr, bar_ptr, frame_ptr);
    b.def_var(carried.value, value);
    let log_end = b.create_block();
    let drawdown = b.create_block();
    b.ins().brif(wants_bars, log_end, &[], drawdown, &[]);
    b.switch_to_block(log_end);
    let end = b.ins().iconst(types::I32, i64::from(LogEntry::END_BAR));
    f.log(&mut b, end, bar, value);
    b.ins().jump(drawdown, &[]);
    b.switch_to_block(drawdown);
    let next = b.create_block();
    carried.mark(&mut b, value, next);
    b.switch_to_block(next);
    let next_bar = b.ins().iadd_imm_s(bar, 1);
    b.def_var(carried.bar, next_bar);
    let next_ptr = b.ins().iadd_imm_s(bar_ptr, offset::BAR_SIZE);
    b.def_var(carried.bar_ptr, next_ptr);
    if let (Some(var), Some(fp)) = (carried.frame_ptr, frame_ptr) {
        let next_frame = b.ins().iadd_imm_s(fp, i64::from(p.frame_len) * 8);
        b.def_var(var, next_frame);
    }
    b.ins().jump(header, &[]);

    // The end of the batch (or a failed host call).
    b.switch_to_block(exit);
    carried.store(&mut b, &f, p);
    let s = b.use_var(status);
    b.ins().return_(&[s]);
    b.seal_all_blocks();
    b.finalize(module.isa().frontend_config());
    Ok(())
}

/// At most this many values are held in registers for a batch (x86-64 has 16 `f64` registers).
const HELD_MAX: u32 = 12;

/// Which slots are held in registers for a whole batch: shift registers never read at a computed
/// index, in slot order, while their values fit in [`HELD_MAX`]. Their reads are then register
/// moves, and a self-referencing series (`total[1]`) carries its value from bar to bar in a
/// register instead of through memory. Memory holds them again at the end of the batch.
fn held_slots(p: &BarProgram) -> Vec<bool> {
    let mut computed = vec![false; p.slots.len()];
    for inst in &p.code {
        if let Inst::Load {
            slot,
            back: Back::Reg(_),
            ..
        } = *inst
        {
            computed[slot as usize] = true;
        }
    }
    let mut left = HELD_MAX;
    p.slots
        .iter()
        .zip(computed)
        .map(|(slot, computed)| {
            let held = slot.is_shift() && !computed && slot.capacity <= left;
            if held {
                left -= slot.capacity;
            }
            held
        })
        .collect()
}

/// An input's value on this bar, as `crate::runtime::engine::input_value` computes it.
/// The account's value, as `runtime::host::equity` computes it (the same sum in the same
/// order): cash plus the primary's position at the bar's close, plus each other symbol's
/// position, when not flat, at its close in the frame.
fn equity_value(
    b: &mut FunctionBuilder,
    p: &BarProgram,
    ctx: Value,
    bar_ptr: Value,
    frame_ptr: Option<Value>,
) -> Value {
    let flags = MemFlagsData::trusted();
    let cash = b.ins().load(types::F64, flags, ctx, offset::CASH);
    let position = b.ins().load(types::F64, flags, ctx, offset::POSITION);
    let close = b.ins().load(types::F64, flags, bar_ptr, offset::BAR_CLOSE);
    let held = b.ins().fmul(position, close);
    let mut value = b.ins().fadd(cash, held);
    let Some(fp) = frame_ptr else {
        return value;
    };
    let limit = crate::runtime::machine::MAX_SYMBOLS - 1;
    for (k, &clock) in p.symbols.iter().enumerate().skip(1).take(limit) {
        let at = offset::POSITIONS + 8 * k as i32;
        let position = b.ins().load(types::F64, flags, ctx, at);
        let close_at = ((crate::ir::tick_at(clock) + 4) * 8) as i32;
        let close = b.ins().load(types::F64, flags, fp, close_at);
        let held = b.ins().fmul(position, close);
        let sum = b.ins().fadd(value, held);
        let zero = b.ins().f64const(0.0);
        let flat = b.ins().fcmp(FloatCC::Equal, position, zero);
        value = b.ins().select(flat, value, sum);
    }
    value
}

fn input_value(
    b: &mut FunctionBuilder,
    input: Input,
    ctx: Value,
    bar_ptr: Value,
    bar: Value,
    symbol: u32,
) -> Value {
    let flags = MemFlagsData::trusted();
    let field = |b: &mut FunctionBuilder, at: i32| b.ins().load(types::F64, flags, bar_ptr, at);
    let account = |b: &mut FunctionBuilder, at: i32| b.ins().load(types::F64, flags, ctx, at);
    match input {
        Input::Position if symbol != 0 => account(b, offset::POSITIONS + 8 * symbol as i32),
        Input::EntryPrice if symbol != 0 => account(b, offset::ENTRY_PRICES + 8 * symbol as i32),
        Input::Open => field(b, offset::BAR_OPEN),
        Input::High => field(b, offset::BAR_HIGH),
        Input::Low => field(b, offset::BAR_LOW),
        Input::Close => field(b, offset::BAR_CLOSE),
        Input::Volume => field(b, offset::BAR_VOLUME),
        Input::Time => {
            let t = b.ins().load(types::I64, flags, bar_ptr, offset::BAR_TIME);
            b.ins().fcvt_from_sint(types::F64, t)
        }
        Input::BarIndex => b.ins().fcvt_from_uint(types::F64, bar),
        Input::Position => account(b, offset::POSITION),
        Input::Cash => account(b, offset::CASH),
        Input::Equity => {
            let cash = account(b, offset::CASH);
            let position = account(b, offset::POSITION);
            let close = field(b, offset::BAR_CLOSE);
            let held = b.ins().fmul(position, close);
            b.ins().fadd(cash, held)
        }
        Input::EntryPrice => account(b, offset::ENTRY_PRICE),
        Input::PendingOrders => account(b, offset::PENDING),
    }
}

impl Tx<'_, '_, '_> {
    fn get(&mut self, r: u32) -> Value {
        match self.local.get(&r) {
            Some(&v) => v,
            None => self.b.use_var(self.regs[r as usize]),
        }
    }

    fn set(&mut self, r: u32, v: Value) {
        if self.crossing[r as usize] {
            self.b.def_var(self.regs[r as usize], v);
        }
        self.local.insert(r, v);
        self.truth.remove(&r);
    }

    /// Records the truth of a bool register just set.
    fn set_truth(&mut self, r: u32, t: Value, never_nan: bool) {
        if let Some(block) = self.b.current_block() {
            self.truth.insert(r, (block, t, never_nan));
        }
    }

    /// `truthy(r)`: from the recorded truth when it was computed in this block.
    fn truth_of(&mut self, r: u32) -> Value {
        match self.truth.get(&r) {
            Some(&(block, t, _)) if Some(block) == self.b.current_block() => t,
            _ => {
                let v = self.get(r);
                self.truthy(v)
            }
        }
    }

    /// The value at position `pos` of the slot starting at `offset`.
    fn slot_load(&mut self, pos: Value, offset: i64) -> Value {
        let addr = self.b.ins().ishl_imm_u(pos, 3);
        let addr = self.b.ins().iadd(self.f.buf, addr);
        self.b.ins().load(
            types::F64,
            MemFlagsData::trusted(),
            addr,
            (offset * 8) as i32,
        )
    }

    fn f64c(&mut self, v: f64) -> Value {
        self.b.ins().f64const(v)
    }

    /// 1.0 or 0.0 from an i8 truth value.
    fn bool_to_f64(&mut self, c: Value) -> Value {
        let one = self.f64c(1.0);
        let zero = self.f64c(0.0);
        self.b.ins().select(c, one, zero)
    }

    fn is_nan(&mut self, a: Value) -> Value {
        self.b.ins().fcmp(FloatCC::Unordered, a, a)
    }

    /// `truthy(v)`: v == 1.0.
    fn truthy(&mut self, v: Value) -> Value {
        let one = self.f64c(1.0);
        self.b.ins().fcmp(FloatCC::Equal, v, one)
    }

    /// NaN when either input is NaN, else `v`.
    fn na_if_either(&mut self, a: Value, b: Value, v: Value) -> Value {
        let uno = self.b.ins().fcmp(FloatCC::Unordered, a, b);
        let nan = self.f64c(f64::NAN);
        self.b.ins().select(uno, nan, v)
    }

    fn call1(&mut self, name: &str, a: Value) -> Value {
        let f = self.f.host(name);
        let call = self.b.ins().call(f, &[a]);
        self.b.inst_results(call)[0]
    }

    fn call2(&mut self, name: &str, a: Value, b: Value) -> Value {
        let f = self.f.host(name);
        let call = self.b.ins().call(f, &[a, b]);
        self.b.inst_results(call)[0]
    }

    /// An effect call (its arguments after the context and the bar); on a non-zero status, the
    /// batch ends at once.
    fn effect(&mut self, name: &str, args: &[Value]) {
        let cont = self.b.create_block();
        let mut all = vec![self.f.ctx, self.bar];
        all.extend_from_slice(args);
        self.f.effect(self.b, name, &all, cont);
        self.b.switch_to_block(cont);
    }

    /// Translates one instruction; returns whether it ended the block.
    fn inst(&mut self, inst: &Inst, pc: usize, blocks: &[Option<Block>]) -> bool {
        let flags = MemFlagsData::trusted();
        match *inst {
            Inst::Const { dst, value } => {
                let v = self.f64c(value);
                self.set(dst, v);
                self.consts.insert(dst, value);
            }
            Inst::Tick { dst, clock } => {
                let v = match self.frame_ptr {
                    Some(fp) => {
                        let t = tick_of(self.b, fp, clock);
                        self.bool_to_f64(t)
                    }
                    // Lowering makes no `Tick` for a program with one clock.
                    None => self.f64c(f64::NAN),
                };
                self.set(dst, v);
            }
            Inst::Load { dst, slot, back } => {
                let s = &self.p.slots[slot as usize];
                let (offset, cap) = (i64::from(s.offset), i64::from(s.capacity));
                let head = self.heads[slot as usize];
                let v = match back {
                    Back::Imm(k) if self.held[slot as usize].is_some() => {
                        let held = self.held[slot as usize].as_ref().expect("held");
                        let var = held[k as usize];
                        self.b.use_var(var)
                    }
                    // A shift register holds the value k bars back at position k.
                    Back::Imm(k) if s.is_shift() => self.b.ins().load(
                        types::F64,
                        flags,
                        self.f.buf,
                        ((i64::from(k) + offset) * 8) as i32,
                    ),
                    Back::Imm(k) => {
                        // pos = head >= k ? head - k : head + cap - k
                        let k = i64::from(k);
                        let pos = if k == 0 {
                            head
                        } else {
                            let wrapped = self.b.ins().iadd_imm_s(head, cap - k);
                            let direct = self.b.ins().iadd_imm_s(head, -k);
                            let ge =
                                self.b
                                    .ins()
                                    .icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, head, k);
                            self.b.ins().select(ge, direct, wrapped)
                        };
                        self.slot_load(pos, offset)
                    }
                    Back::Reg(r) => {
                        let kf = self.get(r);
                        let zero = self.f64c(0.0);
                        let capf = self.f64c(cap as f64);
                        let ge0 = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, kf, zero);
                        let lt = self.b.ins().fcmp(FloatCC::LessThan, kf, capf);
                        let ok = self.b.ins().band(ge0, lt);
                        let safe = self.b.ins().select(ok, kf, zero);
                        let k = self.b.ins().fcvt_to_uint_sat(types::I64, safe);
                        let pos = if s.is_shift() {
                            k
                        } else {
                            let direct = self.b.ins().isub(head, k);
                            let with_cap = self.b.ins().iadd_imm_s(head, cap);
                            let wrapped = self.b.ins().isub(with_cap, k);
                            let ge = self
                                .b
                                .ins()
                                .icmp(IntCC::UnsignedGreaterThanOrEqual, head, k);
                            self.b.ins().select(ge, direct, wrapped)
                        };
                        let v = self.slot_load(pos, offset);
                        let nan = self.f64c(f64::NAN);
                        self.b.ins().select(ok, v, nan)
                    }
                };
                self.set(dst, v);
            }
            Inst::Store { slot, src } if self.held[slot as usize].is_some() => {
                let v = self.get(src);
                let held = self.held[slot as usize].as_ref().expect("held");
                self.b.def_var(held[0], v);
            }
            Inst::Store { slot, src } => {
                let s = &self.p.slots[slot as usize];
                let head = self.heads[slot as usize];
                let addr = self.b.ins().ishl_imm_u(head, 3);
                let addr = self.b.ins().iadd(self.f.buf, addr);
                let v = self.get(src);
                self.b.ins().store(flags, v, addr, (s.offset * 8) as i32);
            }
            Inst::GetVar { dst, var } => {
                let v = self
                    .b
                    .ins()
                    .load(types::F64, flags, self.vars, (var * 8) as i32);
                self.set(dst, v);
            }
            Inst::SetVar { var, src } => {
                let v = self.get(src);
                self.b.ins().store(flags, v, self.vars, (var * 8) as i32);
            }
            Inst::Unary { dst, op, a: ra } => {
                let a = self.get(ra);
                let v = match op {
                    UnOp::Neg => self.b.ins().fneg(a),
                    UnOp::Not => {
                        let zero = self.f64c(0.0);
                        let eq = self.b.ins().fcmp(FloatCC::Equal, a, zero);
                        let v = self.bool_to_f64(eq);
                        self.na_if_either(a, a, v)
                    }
                };
                self.set(dst, v);
                if op == UnOp::Not {
                    let known = match self.truth.get(&ra) {
                        Some(&(block, t, true)) if Some(block) == self.b.current_block() => Some(t),
                        _ => None,
                    };
                    let t = match known {
                        // Of a value that is never NaN, `not` is the negated truth.
                        Some(t) => self.b.ins().icmp_imm_s(IntCC::Equal, t, 0),
                        // Bools are 0, 1 or NaN: `not a` is true exactly when a == 0.
                        None => {
                            let zero = self.f64c(0.0);
                            self.b.ins().fcmp(FloatCC::Equal, a, zero)
                        }
                    };
                    self.set_truth(dst, t, known.is_some());
                }
            }
            Inst::Binary { dst, op, a, b } => {
                let (x, y) = (self.get(a), self.get(b));
                let v = match self.consts.get(&b) {
                    // Division by a constant that is neither 0 nor NaN needs no zero check.
                    Some(&c) if op == BinOp::Div && c != 0.0 && !c.is_nan() => {
                        self.b.ins().fdiv(x, y)
                    }
                    _ => self.binary(op, x, y),
                };
                self.set(dst, v);
                if let Some(t) = self.binary_truth(op, (a, x), (b, y)) {
                    self.set_truth(dst, t, false);
                }
            }
            Inst::Call { dst, f, a, b, argc } => {
                let x = self.get(a);
                let y = self.get(b);
                let v = self.builtin(f, x, y, argc);
                self.set(dst, v);
                if f == Builtin::Na {
                    // 1.0 or 0.0, never NaN: true exactly when x is NaN.
                    let t = self.is_nan(x);
                    self.set_truth(dst, t, true);
                }
            }
            Inst::Select { dst, cond, a, b } => {
                let t = self.truth_of(cond);
                let (x, y) = (self.get(a), self.get(b));
                let v = self.b.ins().select(t, x, y);
                self.set(dst, v);
            }
            Inst::Jump { target } => {
                let to = blocks[target as usize].expect("a jump target starts a block");
                self.b.ins().jump(to, &[]);
                return true;
            }
            Inst::BranchFalse { cond, target } => {
                let t = self.truth_of(cond);
                let to = blocks[target as usize].expect("a branch target starts a block");
                let next = blocks[pc + 1].expect("the instruction after a branch starts a block");
                self.b.ins().brif(t, next, &[], to, &[]);
                return true;
            }
            Inst::Order {
                action,
                args,
                argc,
                name,
                symbol,
            } => {
                let code = i64::from(action.code()) | (i64::from(symbol) << 8);
                let code = self.b.ins().iconst(types::I32, code);
                let count = self.b.ins().iconst(types::I32, i64::from(argc));
                let name = self
                    .b
                    .ins()
                    .iconst(types::I32, i64::from(name.unwrap_or(abi::NO_NAME)));
                let nan = self.f64c(f64::NAN);
                let mut all = vec![self.bar_ptr, code, count, name];
                all.extend((0..4).map(|k| {
                    if k < argc as usize {
                        self.get(args[k])
                    } else {
                        nan
                    }
                }));
                self.effect("btl_order", &all);
            }
            Inst::Fill { dst, field, name } => {
                // `FillView::read`: the fill counts on the bar the strategy sees it on.
                let at = offset::FILLS + name as i32 * offset::FILL_SIZE;
                let seen = self.f.load(self.b, types::F64, at + offset::FILL_BAR);
                let bar = self.b.ins().fcvt_from_uint(types::F64, self.bar);
                let now = self.b.ins().fcmp(FloatCC::Equal, seen, bar);
                let v = match field {
                    FillField::Filled => self.bool_to_f64(now),
                    FillField::Qty | FillField::Price => {
                        let part = if field == FillField::Qty {
                            offset::FILL_QTY
                        } else {
                            offset::FILL_PRICE
                        };
                        let x = self.f.load(self.b, types::F64, at + part);
                        let nan = self.f64c(f64::NAN);
                        self.b.ins().select(now, x, nan)
                    }
                };
                self.set(dst, v);
            }
            Inst::Plot { index, src } => {
                let index = self.b.ins().iconst(types::I32, i64::from(index));
                let v = self.get(src);
                self.f.log(self.b, index, self.bar, v);
            }
            Inst::WindowSum {
                dst,
                state,
                new,
                old,
            } => {
                let at = self.b.ins().iadd_imm_s(self.f.buf, i64::from(state) * 8);
                let (x, y) = (self.get(new), self.get(old));
                let f = self.f.host("btl_window_sum");
                let call = self.b.ins().call(f, &[at, x, y]);
                let v = self.b.inst_results(call)[0];
                self.set(dst, v);
            }
        }
        false
    }

    /// The truth of a comparison or logical operation, straight from its operands: a comparison
    /// with NaN is NaN, never 1.0, which is what an ordered `fcmp` gives; `and` is true when both
    /// bools are; `or` when either is and neither is NaN.
    fn binary_truth(
        &mut self,
        op: BinOp,
        (ra, a): (u32, Value),
        (rb, b): (u32, Value),
    ) -> Option<Value> {
        let cc = match op {
            BinOp::Eq => FloatCC::Equal,
            BinOp::Ne => FloatCC::OrderedNotEqual,
            BinOp::Lt => FloatCC::LessThan,
            BinOp::Le => FloatCC::LessThanOrEqual,
            BinOp::Gt => FloatCC::GreaterThan,
            BinOp::Ge => FloatCC::GreaterThanOrEqual,
            BinOp::And => {
                let (x, y) = (self.truth_of(ra), self.truth_of(rb));
                return Some(self.b.ins().band(x, y));
            }
            BinOp::Or => {
                // Kleene: either true makes `or` true, whatever the other is.
                let (x, y) = (self.truth_of(ra), self.truth_of(rb));
                return Some(self.b.ins().bor(x, y));
            }
            _ => return None,
        };
        Some(self.b.ins().fcmp(cc, a, b))
    }

    /// `crate::value::binary`, instruction by instruction.
    fn binary(&mut self, op: BinOp, a: Value, b: Value) -> Value {
        let cmp = |tx: &mut Self, cc: FloatCC| {
            let c = tx.b.ins().fcmp(cc, a, b);
            let v = tx.bool_to_f64(c);
            tx.na_if_either(a, b, v)
        };
        match op {
            // IEEE arithmetic gives NaN for a NaN input, as `value::binary` does (payloads aside).
            BinOp::Add => self.b.ins().fadd(a, b),
            BinOp::Sub => self.b.ins().fsub(a, b),
            BinOp::Mul => self.b.ins().fmul(a, b),
            BinOp::Div => {
                let v = self.b.ins().fdiv(a, b);
                let zero = self.f64c(0.0);
                let z = self.b.ins().fcmp(FloatCC::Equal, b, zero);
                let nan = self.f64c(f64::NAN);
                self.b.ins().select(z, nan, v)
            }
            BinOp::Rem => self.call2("btl_rem", a, b),
            BinOp::Eq => cmp(self, FloatCC::Equal),
            BinOp::Ne => cmp(self, FloatCC::NotEqual),
            BinOp::Lt => cmp(self, FloatCC::LessThan),
            BinOp::Le => cmp(self, FloatCC::LessThanOrEqual),
            BinOp::Gt => cmp(self, FloatCC::GreaterThan),
            BinOp::Ge => cmp(self, FloatCC::GreaterThanOrEqual),
            BinOp::And | BinOp::Or => {
                // Kleene logic: a decisive operand (false for `and`, true for `or`) decides;
                // otherwise `na` if either is `na`, else the other outcome.
                let zero = self.f64c(0.0);
                let (cc, decided, undecided) = if op == BinOp::And {
                    (FloatCC::Equal, 0.0, 1.0)
                } else {
                    (FloatCC::OrderedNotEqual, 1.0, 0.0)
                };
                let x = self.b.ins().fcmp(cc, a, zero);
                let y = self.b.ins().fcmp(cc, b, zero);
                let decisive = self.b.ins().bor(x, y);
                let unordered = self.b.ins().fcmp(FloatCC::Unordered, a, b);
                let nan = self.f64c(f64::NAN);
                let rest = self.f64c(undecided);
                let open = self.b.ins().select(unordered, nan, rest);
                let decided = self.f64c(decided);
                self.b.ins().select(decisive, decided, open)
            }
        }
    }

    /// `crate::value::builtin`, instruction by instruction.
    fn builtin(&mut self, f: Builtin, a: Value, b: Value, argc: u8) -> Value {
        match f {
            Builtin::Na => {
                let c = self.is_nan(a);
                self.bool_to_f64(c)
            }
            Builtin::Valid => {
                let c = self.b.ins().fcmp(FloatCC::Ordered, a, a);
                self.bool_to_f64(c)
            }
            Builtin::Nz => {
                let d = if argc == 2 { b } else { self.f64c(0.0) };
                let c = self.is_nan(a);
                self.b.ins().select(c, d, a)
            }
            Builtin::Abs => self.b.ins().fabs(a),
            Builtin::Min | Builtin::Max => {
                // The order of `value::builtin`: the second only when strictly better.
                let cc = if f == Builtin::Min {
                    FloatCC::LessThan
                } else {
                    FloatCC::GreaterThan
                };
                let better = self.b.ins().fcmp(cc, b, a);
                let v = self.b.ins().select(better, b, a);
                self.na_if_either(a, b, v)
            }
            // sqrt of a negative number and rounding NaN give NaN by IEEE, as in `value::builtin`.
            Builtin::Sqrt => self.b.ins().sqrt(a),
            Builtin::Floor => self.b.ins().floor(a),
            Builtin::Ceil => self.b.ins().ceil(a),
            Builtin::Round => self.call1("btl_round", a),
            Builtin::Log => self.call1("btl_log", a),
            Builtin::Exp => self.call1("btl_exp", a),
            Builtin::Pow => self.call2("btl_pow", a, b),
            // Actions are statements, not values.
            _ => self.f64c(f64::NAN),
        }
    }
}
