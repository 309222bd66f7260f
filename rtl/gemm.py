"""The block-sparse GEMM engine in Amaranth: an output-stationary (`BlockSparseGemm`) or weight-stationary
(`WeightStationaryGemm`) systolic array of MAC PEs (docs/engine.md); `gemm_component` picks the config's.

The schedule and the memory layout are the contract in `hwsim.arch` (docs/engine.md); `hwsim.sim.gemm_timing`
and `hwsim.sim.gemm_outputs` give the exact cycle count and Y that the tests hold this RTL to.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hwsim.arch import ENGINE_PIPE, EngineConfig

from .mac import mac_component, pe_component

LOAD_SELECT = ("xmem", "wmem", "idx", "ptr", "mode", "bias")  # load_sel value = position


def _bits(value: int) -> int:
    """Unsigned width that holds ``value`` (at least 1 bit, so that no port is zero-width)."""
    return max(1, int(value).bit_length())


def _check_depth(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 1 << 24:
        raise ValueError(f"{name} must be an integer in [{minimum}, {1 << 24}], not {value!r}")
    return value


class _GemmEngine(wiring.Component):
    """What both dataflows share: the parameters, the memories and their load bus, the Y read port and the
    drain's bias add. The problem's M is the input ``m_port`` (OS: m_tiles; WS: m_rows)."""

    m_port = "m_tiles"

    def __init__(self, cfg: EngineConfig, *, x_depth: int, w_depth: int, idx_depth: int, max_n_tiles: int,
                 y_depth: int) -> None:
        try:
            self._check(cfg, x_depth, w_depth, idx_depth, max_n_tiles, y_depth)
        except (TypeError, ValueError):
            self._MustUse__silence = True  # a refused design is not an unused one: no Amaranth warning later
            raise
        ws = cfg.dataflow == "ws"
        u = cfg.mac
        # OS: xmem holds block_k words per K-block and M tile, ymem rows per tile; WS: xmem holds M words per
        # K-block and ymem M per tile column
        self.k_blocks_max = x_depth if ws else x_depth // (cfg.block_k // cfg.nm_group)
        self.m_max = min(x_depth, y_depth) if ws else y_depth // cfg.rows  # M rows (WS) or M tiles (OS)
        self.m_tiles_max = self.m_max
        # word widths of the memories, in load_sel order
        self.word_bits = {
            "xmem": cfg.rows * cfg.nm_group * u.x_bits,  # N:M: a group of nm_group k per row
            "wmem": cfg.cols * (u.w_bits + cfg.idx_bits),  # N:M: each kept weight with its position
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
            self.m_port: In(_bits(self.m_max)),
            "n_tiles": In(_bits(max_n_tiles)),
            "k_blocks": In(_bits(self.k_blocks_max)),
            **({"group_tokens": In(_bits(cfg.nm_group))} if cfg.nm_group > 1 else {}),
            "load_en": In(1),
            "load_sel": In(3),
            "load_addr": In(addr_bits),
            "load_data": In(max(self.word_bits.values())),
            "y_addr": In(_bits(y_depth - 1)),
            "y_data": Out(cfg.cols * u.acc_bits),
        })

    def _check(self, cfg, x_depth, w_depth, idx_depth, max_n_tiles, y_depth) -> None:
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg must be a hwsim.arch.EngineConfig, not {cfg!r}")
        want = "ws" if self.m_port == "m_rows" else "os"
        if cfg.dataflow != want:
            raise ValueError(f"{type(self).__name__} is the {want} engine; cfg has dataflow={cfg.dataflow!r} "
                             "(hwsim.rtl.gemm_component picks the right one)")
        self.cfg = cfg
        ws = want == "ws"
        self.x_depth = _check_depth("x_depth", x_depth, 1 if ws else cfg.block_k // cfg.nm_group)
        self.w_depth = _check_depth("w_depth", w_depth, 1)
        self.idx_depth = _check_depth("idx_depth", idx_depth, 1)
        self.max_n_tiles = _check_depth("max_n_tiles", max_n_tiles, 1)
        self.y_depth = _check_depth("y_depth", y_depth, 1 if ws else cfg.rows)

    def _memories(self, m: Module):
        """The six loadable memories (by name), each written from the load bus, and ymem, whose first read port
        serves ``y_addr``/``y_data``."""
        mems = {}
        for sel, name in enumerate(LOAD_SELECT):
            mem = memory.Memory(shape=unsigned(self.word_bits[name]), depth=self.depths[name], init=[])
            m.submodules[name] = mems[name] = mem
            wp = mem.write_port()
            m.d.comb += [wp.en.eq(self.load_en & (self.load_sel == sel)), wp.addr.eq(self.load_addr),
                         wp.data.eq(self.load_data)]
        ymem = memory.Memory(shape=unsigned(self.cfg.cols * self.cfg.mac.acc_bits), depth=self.y_depth, init=[])
        m.submodules.ymem = ymem
        y_rd = ymem.read_port()
        m.d.comb += [y_rd.addr.eq(self.y_addr), self.y_data.eq(y_rd.data)]
        return mems, ymem

    def _plus_bias(self, m: Module, row, bias_word, enable=None):
        """The Y row a drain writes: each accumulator lane of ``row`` plus its lane of ``bias_word`` (only where
        ``enable``, when given), with the MAC's overflow rule."""
        u, ab = self.cfg.mac, self.cfg.mac.acc_bits
        lanes = []
        hi, lo = (1 << (ab - 1)) - 1, -(1 << (ab - 1))
        for j in range(self.cfg.cols):
            total = Signal(signed(ab + 1), name=f"y_sum{j}")
            acc_j, bias_j = row[j * ab : (j + 1) * ab].as_signed(), bias_word[j * ab : (j + 1) * ab].as_signed()
            m.d.comb += total.eq(acc_j + (bias_j if enable is None else Mux(enable, bias_j, 0)))
            if u.overflow == "wrap":
                lanes.append(total[:ab])
            else:
                lane = Signal(signed(ab), name=f"y_lane{j}")
                m.d.comb += lane.eq(Mux(total > hi, hi, Mux(total < lo, lo, total)))
                lanes.append(lane)
        return Cat(*lanes)


def _delayed(m: Module, sig, n: int, name: str):
    """``sig`` through ``n`` registers."""
    for s in range(n):
        reg = Signal(sig.shape(), name=f"{name}_d{s + 1}")
        m.d.sync += reg.eq(sig)
        sig = reg
    return sig


class BlockSparseGemm(_GemmEngine):
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

    def elaborate(self, platform) -> Module:
        cfg, u = self.cfg, self.cfg.mac
        R, C, bk, G = cfg.rows, cfg.cols, cfg.block_k, cfg.gap
        D = cfg.drain_delay
        xb, wb = u.x_bits, u.w_bits
        NG, ib = cfg.nm_group, cfg.idx_bits  # N:M: activations per group, bits of a kept weight's position
        xl, wl = NG * xb, wb + ib  # lane widths of an X word and a W word
        m = Module()

        mems, ymem = self._memories(m)

        # ---- issuer: one token (tile, stored block q, row kk) per cycle, G idle cycles between tiles
        run = Signal()
        gap = Signal(range(G + 1))
        first = Signal()  # the next token is its tile's first (it carries clear)
        mt = Signal(range(self.m_tiles_max + 1))
        nt = Signal(range(self.max_n_tiles + 1))
        xbase = Signal(range(self.x_depth + 1))  # mt * Kp
        q = Signal(range(self.idx_depth + 1))
        kk = Signal(range(bk))  # token within the stored block
        # N:M: tokens per block = (bk / NG) groups x group_tokens; the token's group gl and slot s in it
        tpb = Signal(range(bk + 1))
        m.d.comb += tpb.eq(self.group_tokens * (bk // NG) if NG > 1 else bk)
        gl = Signal(range(bk // NG))
        slot = Signal(range(NG))
        restart = [gl.eq(0), slot.eq(0)] if NG > 1 else []  # a new block (or tile) starts at group 0, slot 0

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
        kk_end = kk == tpb - 1
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
                         xbase.eq(0), q.eq(ptr_lo.data), kk.eq(0), *restart]
        with m.Elif(issue):
            m.d.sync += first.eq(0)
            with m.If(tok_last):
                m.d.sync += restart
                with m.If(tile_last):
                    m.d.sync += run.eq(0)
                with m.Else():
                    m.d.sync += [gap.eq(G), first.eq(1), kk.eq(0), nt.eq(nt_next), q.eq(ptr_lo.data)]
                    with m.If(nt_wrap):
                        m.d.sync += [mt.eq(mt + 1), xbase.eq(xbase + self.k_blocks * (bk // NG))]
            with m.Elif(kk_end):
                m.d.sync += [kk.eq(0), q.eq(q + 1), *restart]
            with m.Else():
                m.d.sync += kk.eq(kk + 1)
                if NG > 1:
                    with m.If(slot + 1 == self.group_tokens):
                        m.d.sync += [slot.eq(0), gl.eq(gl + 1)]
                    with m.Else():
                        m.d.sync += slot.eq(slot + 1)
        with m.Elif(run):
            m.d.sync += gap.eq(gap - 1)

        def delayed(sig, n: int, name: str):
            return _delayed(m, sig, n, name)

        # ---- operand fetch: cycle t idx + weight reads, t + 1 X read, t + 2 (= t + ENGINE_PIPE) array edge
        assert ENGINE_PIPE == 2, "the fetch below is two stages"
        idx_rd = mems["idx"].read_port()
        w_rd = mems["wmem"].read_port()
        mode_rd = mems["mode"].read_port(domain="comb")
        x_rd = mems["xmem"].read_port()
        m.d.comb += [
            idx_rd.addr.eq(Mux(tok_valid, q, 0)),
            w_rd.addr.eq(Mux(tok_valid, q * tpb + kk, 0)),
            mode_rd.addr.eq(nt),
        ]
        v1, c1, v2, c2 = Signal(), Signal(), Signal(), Signal()
        kx1 = Signal(range(bk))  # the token's X word within its K-block: its k, or with N:M its group
        xbase1 = Signal.like(xbase)
        w2 = Signal(C * wl)
        m.d.sync += [v1.eq(tok_valid), c1.eq(tok_clear), kx1.eq(gl if NG > 1 else kk), xbase1.eq(xbase),
                     v2.eq(v1), c2.eq(c1), w2.eq(w_rd.data)]
        mode2 = delayed(mode_rd.data, 2, "mode") if u.has_mode else None  # MSQ column modes travel with w
        m.d.comb += x_rd.addr.eq(Mux(v1, xbase1 + idx_rd.data * (bk // NG) + kx1, 0))
        if NG > 1:  # a group's X word is read by its first token and held for the others
            slot1, slot2, dense2 = Signal.like(slot), Signal.like(slot), Signal()
            m.d.sync += [slot1.eq(slot), slot2.eq(slot1), dense2.eq(self.group_tokens == NG)]
            m.d.comb += x_rd.en.eq(~v1 | (slot1 == 0))
        x2 = x_rd.data

        # ---- systolic array: row i's inputs skewed by i, column j's by j; x right, w down
        pes = [[pe_component(u, NG) for _ in range(C)] for _ in range(R)]
        for i in range(R):
            for j in range(C):
                m.submodules[f"pe_{i}_{j}"] = pes[i][j]
        # what moves right along a row: the activation (N:M: the group's, x0 .. x<NG-1>), valid, clear
        right = ["x"] if NG == 1 else [f"x{e}" for e in range(NG)]
        for i in range(R):
            lane = x2[i * xl : (i + 1) * xl]
            left = {port: delayed(lane[e * xb : (e + 1) * xb], i, f"{port}_{i}") for e, port in enumerate(right)}
            left.update(valid=delayed(v2, i, f"v{i}"), clear=delayed(c2, i, f"c{i}"))
            for j in range(C):
                pe = pes[i][j]
                for port in (*right, "valid", "clear"):
                    if j:
                        m.d.sync += getattr(pe, port).eq(getattr(pes[i][j - 1], port))
                    else:
                        m.d.comb += getattr(pe, port).eq(left[port])
        down = ["w", *(["idx"] if NG > 1 else []), *(["mode"] if u.has_mode else [])]  # what moves down a column
        for j in range(C):
            lane = w2[j * wl : (j + 1) * wl]
            top = {"w": delayed(lane[:wb], j, f"w{j}")}
            if NG > 1:  # a kept weight's position in its group travels with it (dense mode: the token's slot)
                top["idx"] = delayed(Mux(dense2, slot2, lane[wb:]), j, f"idx{j}")
            if u.has_mode:
                top["mode"] = delayed(mode2[j], j, f"mode{j}")
            for i in range(R):
                pe = pes[i][j]
                for port in down:
                    if i:
                        m.d.sync += getattr(pe, port).eq(getattr(pes[i - 1][j], port))
                    else:
                        m.d.comb += getattr(pe, port).eq(top[port])

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
        y_wr = ymem.write_port()
        m.d.comb += [y_wr.en.eq(drain_on), y_wr.addr.eq(yaddr),
                     y_wr.data.eq(self._plus_bias(m, row, bias_rd.data))]
        return m


class WeightStationaryGemm(_GemmEngine):
    """Y = X W (+ bias) on ``cfg.rows`` (K) x ``cfg.cols`` (N) PEs that each hold one weight of a fold while the
    rows of X stream through, W in block-sparse (BSR) form with one fold per stored K-block (block_k = rows),
    cycle-exact to docs/engine.md ("Weight-stationary schedule").

    Parameters, memories and ports are `BlockSparseGemm`'s, except that M is given in rows (``m_rows``) and the
    X and Y layouts are the WS ones of `hwsim.arch.engine_images`: xmem[kb * M + r] holds X[r, kb R .. kb R +
    R - 1], ymem[nt * M + r] the partial sums, then Y, of row r of tile column nt.

    Structure: for each fold (tile columns in order, stored blocks ascending; an empty column gets one fold
    without weights that writes its bias), R preload cycles read the fold's weight words last row first and
    shift them down the columns' weight registers; then one X row is issued per cycle, with a read of its
    partial sums (zero for a column's first fold). Row i's x is skewed by i and moves right one PE per cycle;
    column j's partial sum enters PE(0, j) skewed by j + 1 and flows down through the chained PEs
    (`mac_component(chain=True)`: acc = psum + product); the bottom row is deskewed to a whole Y row and written
    back R + C + 1 cycles after its issue, plus bias (with the MAC's overflow rule) on the column's last fold.
    Between folds the issuer waits `EngineConfig.ws_gap` cycles, which keeps the weights until the last row
    has used them and the partial sums until they are written.
    """

    m_port = "m_rows"

    def elaborate(self, platform) -> Module:
        cfg, u = self.cfg, self.cfg.mac
        R, C = cfg.rows, cfg.cols
        D = cfg.drain_delay
        xb, wb, ab = u.x_bits, u.w_bits, u.acc_bits
        m = Module()
        mems, ymem = self._memories(m)
        M = self.m_rows

        # ---- issuer: per fold, R preload cycles, M X rows, then the idle part of the gap
        run, pre, stream, first = Signal(), Signal(), Signal(), Signal()
        r = Signal(range(R))
        mrow = Signal(range(self.m_max + 1))
        idle = Signal(range(R + C + 3))
        nt = Signal(range(self.max_n_tiles + 1))
        q = Signal(range(self.idx_depth + 1))
        xbase = Signal(range(self.x_depth + 1))  # kb * M
        ybase = Signal(range(self.y_depth + 1))  # nt * M

        ptr_lo = mems["ptr"].read_port(domain="comb")  # ptr[0] at start
        ptr_hi = mems["ptr"].read_port(domain="comb")  # ptr[nt + 1]: where this column's blocks end
        idx_rd = mems["idx"].read_port(domain="comb")
        m.d.comb += [ptr_lo.addr.eq(0), ptr_hi.addr.eq(nt + 1), idx_rd.addr.eq(q)]
        q_end = ptr_hi.data
        empty, final, last_fold, row_end, tok = (Signal(name=n) for n in (
            "empty", "final", "last_fold", "row_end", "tok"))
        m.d.comb += [
            empty.eq(q == q_end),  # a column without stored blocks: one fold that only writes its bias
            final.eq(empty | (q + 1 == q_end)),
            last_fold.eq(final & (nt + 1 == self.n_tiles)),
            row_end.eq(mrow + 1 == M),
            tok.eq(run & stream),
        ]
        # idle cycles after a fold's last row: ws_gap(M) - R = max(R + C - 3, C + 2 - M, 0)
        idle0 = max(R + C - 3, 0)
        idle_n = Signal.like(idle)
        m.d.comb += idle_n.eq(Mux(M + idle0 < C + 2, C + 2 - M, idle0))

        busy = self.busy
        with m.If(~busy & self.start):
            m.d.sync += [busy.eq(1), self.done.eq(0), run.eq(1), pre.eq(1), stream.eq(0), r.eq(0), nt.eq(0),
                         q.eq(ptr_lo.data), ybase.eq(0), first.eq(1)]
        with m.Elif(run & pre):
            m.d.sync += xbase.eq(idx_rd.data * M)
            with m.If(r == R - 1):
                m.d.sync += [pre.eq(0), stream.eq(1), mrow.eq(0)]
            with m.Else():
                m.d.sync += r.eq(r + 1)
        with m.Elif(tok):
            with m.If(row_end):
                m.d.sync += stream.eq(0)
                with m.If(last_fold):
                    m.d.sync += run.eq(0)
                with m.Else():
                    with m.If(final):
                        m.d.sync += [nt.eq(nt + 1), q.eq(q_end), ybase.eq(ybase + M), first.eq(1)]
                    with m.Else():
                        m.d.sync += [q.eq(q + 1), first.eq(0)]
                    with m.If(idle_n == 0):
                        m.d.sync += [pre.eq(1), r.eq(0)]
                    with m.Else():
                        m.d.sync += idle.eq(idle_n)
            with m.Else():
                m.d.sync += mrow.eq(mrow + 1)
        with m.Elif(run):
            m.d.sync += idle.eq(idle - 1)
            with m.If(idle == 1):
                m.d.sync += [pre.eq(1), r.eq(0)]

        # ---- preload: cycle c reads weight row R-1-r of the fold, cycle c+1 shifts it in at the top
        w_rd = mems["wmem"].read_port()
        mode_rd = mems["mode"].read_port(domain="comb")
        m.d.comb += [w_rd.addr.eq(Mux(pre & ~empty, q * R + (R - 1 - r), 0)), mode_rd.addr.eq(nt)]
        shift = Signal()
        m.d.sync += shift.eq(run & pre & ~empty)
        wreg = [[Signal(wb, name=f"w_{i}_{j}") for j in range(C)] for i in range(R)]
        mode = Signal(C)
        with m.If(shift):
            for j in range(C):
                m.d.sync += wreg[0][j].eq(w_rd.data[j * wb : (j + 1) * wb])
                for i in range(1, R):
                    m.d.sync += wreg[i][j].eq(wreg[i - 1][j])
            if u.has_mode:  # MSQ column modes stay with the fold's weights
                m.d.sync += mode.eq(mode_rd.data)

        # ---- stream: cycle t reads the row's X word and partial sums, t + 1 they are at the array edge
        x_rd = mems["xmem"].read_port()
        ps_rd = ymem.read_port()
        m.d.comb += [x_rd.addr.eq(Mux(tok, xbase + mrow, 0)), ps_rd.addr.eq(Mux(tok, ybase + mrow, 0))]
        v1, f1 = Signal(), Signal()
        m.d.sync += [v1.eq(tok & ~empty), f1.eq(tok & first)]
        top = Signal(C * ab)
        m.d.comb += top.eq(Mux(f1, 0, ps_rd.data))

        pes = [[mac_component(u, chain=True) for _ in range(C)] for _ in range(R)]
        for i in range(R):
            x_i = _delayed(m, x_rd.data[i * xb : (i + 1) * xb], i, f"x{i}")
            v_i = _delayed(m, v1, i, f"v{i}")
            for j in range(C):
                pe = pes[i][j]
                m.submodules[f"pe_{i}_{j}"] = pe
                m.d.comb += [pe.w.eq(wreg[i][j]), pe.clear.eq(0)]
                if u.has_mode:
                    m.d.comb += pe.mode.eq(mode[j])
                if j:
                    m.d.sync += [pe.x.eq(pes[i][j - 1].x), pe.valid.eq(pes[i][j - 1].valid)]
                else:
                    m.d.comb += [pe.x.eq(x_i), pe.valid.eq(v_i)]
                if i:
                    m.d.comb += pe.psum.eq(pes[i - 1][j].acc)
                else:
                    m.d.comb += pe.psum.eq(_delayed(m, top[j * ab : (j + 1) * ab], j + 1, f"psum{j}"))

        # ---- write-back: the bottom row deskewed (column j by C - 1 - j), D cycles after the row's issue
        row = Cat(*(_delayed(m, pes[R - 1][j].acc, C - 1 - j, f"y{j}") for j in range(C)))
        wr = _delayed(m, tok, D, "wr")
        wr_final = _delayed(m, tok & final, D, "wr_final")
        wr_last = _delayed(m, tok & last_fold & row_end, D, "wr_last")
        wr_addr = _delayed(m, ybase + mrow, D, "wr_addr")
        wr_nt = _delayed(m, nt, D, "wr_nt")
        bias_rd = mems["bias"].read_port(domain="comb")
        y_wr = ymem.write_port()
        m.d.comb += [bias_rd.addr.eq(wr_nt), y_wr.en.eq(wr), y_wr.addr.eq(wr_addr),
                     y_wr.data.eq(self._plus_bias(m, row, bias_rd.data, enable=wr_final))]
        with m.If(wr_last):
            m.d.sync += [self.done.eq(1), busy.eq(0)]
        return m


def gemm_component(cfg: EngineConfig, **depths) -> _GemmEngine:
    """The engine of ``cfg.dataflow`` (`BlockSparseGemm` or `WeightStationaryGemm`) with memory ``depths``."""
    if not isinstance(cfg, EngineConfig):
        raise TypeError(f"cfg must be a hwsim.arch.EngineConfig, not {cfg!r}")
    cls = WeightStationaryGemm if cfg.dataflow == "ws" else BlockSparseGemm
    return cls(cfg, **depths)
