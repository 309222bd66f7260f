"""The block-sparse GEMM engine in Amaranth: an output-stationary systolic array of MAC PEs (docs/engine.md).

The schedule and the memory layout are the contract in `hwsim.arch` (docs/engine.md); `hwsim.sim.gemm_timing`
and `hwsim.sim.gemm_outputs` give the exact cycle count and Y that the tests hold this RTL to.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hwsim.arch import ENGINE_PIPE, EngineConfig

from .mac import mac_component

LOAD_SELECT = ("xmem", "wmem", "idx", "ptr", "mode", "bias")  # load_sel value = position


def _bits(value: int) -> int:
    """Unsigned width that holds ``value`` (at least 1 bit, so that no port is zero-width)."""
    return max(1, int(value).bit_length())


def _check_depth(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 1 << 24:
        raise ValueError(f"{name} must be an integer in [{minimum}, {1 << 24}], not {value!r}")
    return value


class BlockSparseGemm(wiring.Component):
    """Y = X W (+ bias) on ``cfg.rows`` x ``cfg.cols`` PEs, W in block-sparse (BSR) form, cycle-exact to
    docs/engine.md.

    Elaboration parameters are the memory depths, in words: ``x_depth`` (xmem, >= block_k), ``w_depth``
    (wmem), ``idx_depth`` (idx: stored tile-blocks), ``max_n_tiles`` (ptr holds max_n_tiles + 1 words, mode
    and bias max_n_tiles) and ``y_depth`` (ymem, >= rows). The layout of every memory is
    `hwsim.arch.engine_images`.

    Ports:
        start       In(1)   sampled on a rising edge while not busy: cycle 0 of a GEMM (ignored while busy)
        busy        Out(1)  from the cycle after start until done rises
        done        Out(1)  from the cycle after the last Y row is written until the cycle after the next start
        m_tiles, n_tiles, k_blocks  In   the problem's tiling (each >= 1), held stable while busy
        load_en, load_sel, load_addr, load_data  In   one memory word written per cycle when load_en is high;
                    load_sel: 0 xmem, 1 wmem, 2 idx, 3 ptr, 4 mode, 5 bias (load only while not busy)
        y_addr      In      Y read address (ymem[p * rows + i], p = mt * n_tiles + nt)
        y_data      Out     ymem[y_addr] one cycle later (a registered read: latency 1); lane j (acc_bits,
                    two's complement) in bits [j * acc_bits, (j + 1) * acc_bits)

    Structure: an issuer walks tiles (M outer, N inner) and their stored blocks, one K-step token per cycle;
    the token's idx and weight reads (cycle t), then its X read (t + 1, address from the idx data) put the
    operands at the array edge in t + ENGINE_PIPE. Skew registers delay row i's x (and valid/clear) by i and
    column j's w (and MSQ mode) by j; x/valid/clear then move right and w/mode down one PE per cycle. A
    delay line carries each tile's last token to the drain, which writes one row per cycle (acc + bias with
    the MAC's overflow rule) while the next tile fills and computes.
    """

    def __init__(self, cfg: EngineConfig, *, x_depth: int, w_depth: int, idx_depth: int, max_n_tiles: int,
                 y_depth: int) -> None:
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg must be a hwsim.arch.EngineConfig, not {cfg!r}")
        self.cfg = cfg
        self.x_depth = _check_depth("x_depth", x_depth, cfg.block_k)
        self.w_depth = _check_depth("w_depth", w_depth, 1)
        self.idx_depth = _check_depth("idx_depth", idx_depth, 1)
        self.max_n_tiles = _check_depth("max_n_tiles", max_n_tiles, 1)
        self.y_depth = _check_depth("y_depth", y_depth, cfg.rows)
        u = cfg.mac
        self.k_blocks_max = x_depth // cfg.block_k
        self.m_tiles_max = y_depth // cfg.rows
        # word widths of the memories, in load_sel order
        self.word_bits = {
            "xmem": cfg.rows * u.x_bits,
            "wmem": cfg.cols * u.w_bits,
            "idx": _bits(self.k_blocks_max - 1),
            "ptr": _bits(idx_depth),
            "mode": cfg.cols,
            "bias": cfg.cols * u.acc_bits,
        }
        self.depths = {"xmem": x_depth, "wmem": w_depth, "idx": idx_depth, "ptr": max_n_tiles + 1,
                       "mode": max_n_tiles, "bias": max_n_tiles}
        addr_bits = max(_bits(d - 1) for d in self.depths.values())
        super().__init__({
            "start": In(1),
            "busy": Out(1),
            "done": Out(1),
            "m_tiles": In(_bits(self.m_tiles_max)),
            "n_tiles": In(_bits(max_n_tiles)),
            "k_blocks": In(_bits(self.k_blocks_max)),
            "load_en": In(1),
            "load_sel": In(3),
            "load_addr": In(addr_bits),
            "load_data": In(max(self.word_bits.values())),
            "y_addr": In(_bits(y_depth - 1)),
            "y_data": Out(cfg.cols * u.acc_bits),
        })

    def elaborate(self, platform) -> Module:
        cfg, u = self.cfg, self.cfg.mac
        R, C, bk, G = cfg.rows, cfg.cols, cfg.block_k, cfg.gap
        D = cfg.drain_delay
        xb, wb, ab = u.x_bits, u.w_bits, u.acc_bits
        m = Module()

        # ---- memories, each with a write port on the load bus
        mems = {}
        for sel, name in enumerate(LOAD_SELECT):
            mem = memory.Memory(shape=unsigned(self.word_bits[name]), depth=self.depths[name], init=[])
            m.submodules[name] = mems[name] = mem
            wp = mem.write_port()
            m.d.comb += [wp.en.eq(self.load_en & (self.load_sel == sel)), wp.addr.eq(self.load_addr),
                         wp.data.eq(self.load_data)]
        ymem = memory.Memory(shape=unsigned(C * ab), depth=self.y_depth, init=[])
        m.submodules.ymem = ymem
        y_rd = ymem.read_port()
        m.d.comb += [y_rd.addr.eq(self.y_addr), self.y_data.eq(y_rd.data)]

        # ---- issuer: one token (tile, stored block q, row kk) per cycle, G idle cycles between tiles
        run = Signal()
        gap = Signal(range(G + 1))
        first = Signal()  # the next token is its tile's first (it carries clear)
        mt = Signal(range(self.m_tiles_max + 1))
        nt = Signal(range(self.max_n_tiles + 1))
        xbase = Signal(range(self.x_depth + 1))  # mt * Kp
        q = Signal(range(self.idx_depth + 1))
        kk = Signal(range(bk))

        ptr_lo = mems["ptr"].read_port(domain="comb")  # ptr[next tile column]: where its blocks start
        ptr_hi = mems["ptr"].read_port(domain="comb")  # ptr[nt + 1]: where this column's blocks end
        nt_wrap = Signal()
        nt_next = Signal.like(nt)
        m.d.comb += [
            nt_wrap.eq(nt + 1 == self.n_tiles),
            nt_next.eq(Mux(nt_wrap, 0, nt + 1)),
            ptr_hi.addr.eq(nt + 1),
            ptr_lo.addr.eq(Mux(run, nt_next, 0)),
        ]
        q_end = ptr_hi.data

        issue, empty, tok_valid, tok_clear, tok_last, tile_last = (Signal(name=n) for n in (
            "issue", "empty", "tok_valid", "tok_clear", "tok_last", "tile_last"))
        kk_end = kk == bk - 1
        m.d.comb += [
            issue.eq(run & (gap == 0)),
            empty.eq(q == q_end),  # a column without stored blocks: one clear-only token
            tok_valid.eq(issue & ~empty),
            tok_clear.eq(issue & first),
            tok_last.eq(issue & (empty | (kk_end & (q + 1 == q_end)))),
            tile_last.eq((mt + 1 == self.m_tiles) & nt_wrap),
        ]

        busy = self.busy
        with m.If(~busy & self.start):
            m.d.sync += [busy.eq(1), self.done.eq(0), run.eq(1), gap.eq(0), first.eq(1), mt.eq(0), nt.eq(0),
                         xbase.eq(0), q.eq(ptr_lo.data), kk.eq(0)]
        with m.Elif(issue):
            m.d.sync += first.eq(0)
            with m.If(tok_last):
                with m.If(tile_last):
                    m.d.sync += run.eq(0)
                with m.Else():
                    m.d.sync += [gap.eq(G), first.eq(1), kk.eq(0), nt.eq(nt_next), q.eq(ptr_lo.data)]
                    with m.If(nt_wrap):
                        m.d.sync += [mt.eq(mt + 1), xbase.eq(xbase + self.k_blocks * bk)]
            with m.Elif(kk_end):
                m.d.sync += [kk.eq(0), q.eq(q + 1)]
            with m.Else():
                m.d.sync += kk.eq(kk + 1)
        with m.Elif(run):
            m.d.sync += gap.eq(gap - 1)

        def delayed(sig, n: int, name: str):
            """``sig`` through ``n`` registers."""
            for s in range(n):
                reg = Signal(sig.shape(), name=f"{name}_d{s + 1}")
                m.d.sync += reg.eq(sig)
                sig = reg
            return sig

        # ---- operand fetch: cycle t idx + weight reads, t + 1 X read, t + 2 (= t + ENGINE_PIPE) array edge
        assert ENGINE_PIPE == 2, "the fetch below is two stages"
        idx_rd = mems["idx"].read_port()
        w_rd = mems["wmem"].read_port()
        mode_rd = mems["mode"].read_port(domain="comb")
        x_rd = mems["xmem"].read_port()
        m.d.comb += [
            idx_rd.addr.eq(Mux(tok_valid, q, 0)),
            w_rd.addr.eq(Mux(tok_valid, q * bk + kk, 0)),
            mode_rd.addr.eq(nt),
        ]
        v1, c1, v2, c2 = Signal(), Signal(), Signal(), Signal()
        kk1 = Signal.like(kk)
        xbase1 = Signal.like(xbase)
        w2 = Signal(C * wb)
        m.d.sync += [v1.eq(tok_valid), c1.eq(tok_clear), kk1.eq(kk), xbase1.eq(xbase), v2.eq(v1), c2.eq(c1),
                     w2.eq(w_rd.data)]
        mode2 = delayed(mode_rd.data, 2, "mode") if u.has_mode else None  # MSQ column modes travel with w
        m.d.comb += x_rd.addr.eq(Mux(v1, xbase1 + idx_rd.data * bk + kk1, 0))
        x2 = x_rd.data

        # ---- systolic array: row i's inputs skewed by i, column j's by j; x right, w down
        pes = [[mac_component(u) for _ in range(C)] for _ in range(R)]
        for i in range(R):
            for j in range(C):
                m.submodules[f"pe_{i}_{j}"] = pes[i][j]
        for i in range(R):
            left = {"x": delayed(x2[i * xb : (i + 1) * xb], i, f"x{i}"), "valid": delayed(v2, i, f"v{i}"),
                    "clear": delayed(c2, i, f"c{i}")}
            for j in range(C):
                pe = pes[i][j]
                if j:
                    for port in ("x", "valid", "clear"):
                        m.d.sync += getattr(pe, port).eq(getattr(pes[i][j - 1], port))
                else:
                    m.d.comb += [pe.x.eq(left["x"]), pe.valid.eq(left["valid"]), pe.clear.eq(left["clear"])]
        for j in range(C):
            top_w = delayed(w2[j * wb : (j + 1) * wb], j, f"w{j}")
            top_mode = delayed(mode2[j], j, f"mode{j}") if u.has_mode else None
            for i in range(R):
                pe = pes[i][j]
                if i:
                    m.d.sync += pe.w.eq(pes[i - 1][j].w)
                    if u.has_mode:
                        m.d.sync += pe.mode.eq(pes[i - 1][j].mode)
                else:
                    m.d.comb += pe.w.eq(top_w)
                    if u.has_mode:
                        m.d.comb += pe.mode.eq(top_mode)

        # ---- drain: a tile's last token, D - 1 cycles later, starts writing its rows, one per cycle
        last_d = delayed(tok_last, D - 1, "last")
        final_d = delayed(tok_last & tile_last, D - 1, "final")
        drain_on = Signal()
        drow = Signal(range(R))
        dlast = Signal()  # the tile being drained is the GEMM's last
        dnt = Signal.like(nt)  # its tile column (for bias)
        yaddr = Signal(range(self.y_depth + 1))
        row_end = drain_on & (drow == R - 1)
        with m.If(last_d):
            m.d.sync += [drain_on.eq(1), drow.eq(0), dlast.eq(final_d)]
        with m.Elif(row_end):
            m.d.sync += drain_on.eq(0)
        with m.Elif(drain_on):
            m.d.sync += drow.eq(drow + 1)
        with m.If(~busy & self.start):
            m.d.sync += [yaddr.eq(0), dnt.eq(0)]
        with m.Else():
            with m.If(drain_on):
                m.d.sync += yaddr.eq(yaddr + 1)
            with m.If(row_end):
                m.d.sync += dnt.eq(Mux(dnt + 1 == self.n_tiles, 0, dnt + 1))
                with m.If(dlast):
                    m.d.sync += [self.done.eq(1), busy.eq(0)]

        bias_rd = mems["bias"].read_port(domain="comb")
        m.d.comb += bias_rd.addr.eq(dnt)
        # the draining row's accumulators: a chain of 2-way muxes (continuous assignments in Verilog; a case
        # statement would sit stale in Icarus until one of its inputs changed after time 0)
        row = Cat(*(pes[0][j].acc for j in range(C)))
        for i in range(1, R):
            row = Mux(drow == i, Cat(*(pes[i][j].acc for j in range(C))), row)
        lanes = []
        hi, lo = (1 << (ab - 1)) - 1, -(1 << (ab - 1))
        for j in range(C):
            total = Signal(signed(ab + 1), name=f"y_sum{j}")
            acc_j, bias_j = row[j * ab : (j + 1) * ab].as_signed(), bias_rd.data[j * ab : (j + 1) * ab].as_signed()
            m.d.comb += total.eq(acc_j + bias_j)
            if u.overflow == "wrap":
                lanes.append(total[:ab])
            else:
                lane = Signal(signed(ab), name=f"y_lane{j}")
                m.d.comb += lane.eq(Mux(total > hi, hi, Mux(total < lo, lo, total)))
                lanes.append(lane)
        y_wr = ymem.write_port()
        m.d.comb += [y_wr.en.eq(drain_on), y_wr.addr.eq(yaddr), y_wr.data.eq(Cat(*lanes))]
        return m
