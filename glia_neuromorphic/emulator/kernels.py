"""Numba kernels of the emulator: fused compartment update and synapse gathers.

The compartment kernel runs one pass over a group and replaces about twenty
whole-array numpy operations (about 15x faster at a million compartments).
The gather kernels add the weight rows of the presynaptic units that sent
something this step, so the cost scales with activity, not with group size.
"""

from __future__ import annotations

import numba
import numpy as np

#: Overflow policy codes passed to the kernels.
WRAP, CLIP, WRAP_ONCE = 0, 1, 2
#: Arithmetic mode codes.
LAVA, NENGO_LOIHI = 0, 1
#: Voltage reset codes: set v to 0, or subtract the scaled threshold.
RESET_ZERO, RESET_SUBTRACT = 0, 1
#: Register slots of the event arrays, in pipeline order.
ACCUMULATOR, U, U_BIAS, V = 0, 1, 2, 3
REGISTER_NAMES = ("accumulator", "u", "u_bias", "v")


@numba.njit(cache=True, inline="always")
def _decay(x, d, offset, bits):
    factor = (1 << bits) - d - offset
    if x >= 0:
        return (x * factor) >> bits
    return -(((-x) * factor) >> bits)


@numba.njit(cache=True, inline="always")
def _overflow(x, bits, policy):
    half = np.int64(1) << (bits - 1)
    if policy == WRAP:
        return ((x + half) & ((half << 1) - 1)) - half
    if policy == CLIP:
        limit = half - 1
        return min(max(x, -limit), limit)
    if x > half:
        return x - 2 * half
    if x <= -half:
        return x + 2 * half
    return x


@numba.njit(cache=True, nogil=True)
def lif_step(  # noqa: PLR0913 - one flat signature keeps numba dispatch cheap
    mode,
    u,
    v,
    total,
    du,
    dv,
    bias,
    vth,
    refract,
    ref_count,
    spikes,
    widths,
    policies,
    reset,
    vmin,
    vmax,
    events,
    first_index,
    first_value,
):  # pragma: no cover - compiled
    """Update one compartment group in place; count overflows per register.

    ``widths`` = (decay_bits, decay_u_offset, decay_v_offset, act_shift,
    accumulator_bits, u_bits, v_bits); ``policies`` = (accumulator, u, v)
    policy codes. After the v register's overflow rule, v is clipped to
    ``[vmin, vmax]`` (not counted as an overflow), then refractory hold, spike
    test and ``reset`` (a reset code) follow.
    """
    decay_bits, u_offset, v_offset, act_shift, acc_bits, u_bits, v_bits = widths
    acc_policy, u_policy, v_policy = policies
    # overflow counts and first events live in scalars: writing them to the
    # output arrays inside the loop makes the kernel ~100x slower
    n_acc = n_u = n_ub = n_v = 0
    i_acc = i_u = i_ub = i_v = 0
    x_acc = x_u = x_ub = x_v = 0
    for i in range(u.size):
        x = _decay(u[i], du[i], u_offset, decay_bits)
        if mode == LAVA:
            x = x + (total[i] << act_shift)
            xr = _overflow(x, acc_bits, acc_policy)
            if xr != x:
                if n_acc == 0:
                    i_acc, x_acc = i, x
                n_acc += 1
            un = _overflow(xr, u_bits, u_policy)
            if un != xr:
                if n_u == 0:
                    i_u, x_u = i, xr
                n_u += 1
            y = _decay(v[i], dv[i], v_offset, decay_bits) + un + bias[i]
            yr = _overflow(y, acc_bits, acc_policy)
            if yr != y:
                if n_acc == 0:
                    i_acc, x_acc = i, y
                n_acc += 1
        else:
            q = _overflow(total[i], acc_bits, acc_policy)
            if q != total[i]:
                if n_acc == 0:
                    i_acc, x_acc = i, total[i]
                n_acc += 1
            x = x + q
            un = _overflow(x, u_bits, u_policy)
            if un != x:
                if n_u == 0:
                    i_u, x_u = i, x
                n_u += 1
            ub = un + bias[i]
            ubr = _overflow(ub, u_bits, u_policy)
            if ubr != ub:
                if n_ub == 0:
                    i_ub, x_ub = i, ub
                n_ub += 1
            yr = _decay(v[i], dv[i], v_offset, decay_bits) + ubr
        vn = _overflow(yr, v_bits, v_policy)
        if vn != yr:
            if n_v == 0:
                i_v, x_v = i, yr
            n_v += 1
        vn = min(max(vn, vmin), vmax)
        if ref_count[i] > 0:
            vn = 0
        fired = vn > vth[i]
        count = ref_count[i]
        if fired:
            vn = vn - vth[i] if reset == RESET_SUBTRACT else 0
            count = refract[i]
        ref_count[i] = max(count - 1, 0)
        u[i] = un
        v[i] = vn
        spikes[i] = fired
    events[ACCUMULATOR], first_index[ACCUMULATOR], first_value[ACCUMULATOR] = (
        n_acc,
        i_acc,
        x_acc,
    )
    events[U], first_index[U], first_value[U] = n_u, i_u, x_u
    events[U_BIAS], first_index[U_BIAS], first_value[U_BIAS] = n_ub, i_ub, x_ub
    events[V], first_index[V], first_value[V] = n_v, i_v, x_v


@numba.njit(cache=True, nogil=True)
def gather_dense_small(weights_t, active, out):  # pragma: no cover - compiled
    """Add rows ``active`` of ``weights_t`` to ``out`` with an int32 partial sum.

    Only valid when no partial sum can leave int32 (checked by the caller).
    """
    n_post = weights_t.shape[1]
    partial = np.zeros(n_post, np.int32)
    for k in range(active.size):
        row = weights_t[active[k]]
        for j in range(n_post):
            partial[j] += row[j]
    for j in range(n_post):
        out[j] += partial[j]


@numba.njit(cache=True, nogil=True)
def gather_dense(weights_t, active, payload, out):  # pragma: no cover - compiled
    """Add rows ``active`` of ``weights_t`` times ``payload`` to int64 ``out``."""
    n_post = weights_t.shape[1]
    for k in range(active.size):
        row = weights_t[active[k]]
        p = payload[k]
        for j in range(n_post):
            out[j] += row[j] * p


@numba.njit(cache=True, nogil=True)
def gather_csr(indptr, indices, data, active, payload, out):  # pragma: no cover
    """Add CSR rows ``active`` (pre-major) times ``payload`` to int64 ``out``."""
    for k in range(active.size):
        i = active[k]
        p = payload[k]
        for j in range(indptr[i], indptr[i + 1]):
            out[indices[j]] += data[j] * p
