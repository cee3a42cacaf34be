"""Fresh bug zoo for ch04_positions, written from the release only (task text, visible tests,
chapter page), before reading the solution or the hidden tests.

Each entry is a complete wrong definition a learner could plausibly write; most pass the
visible tests. Names the notebook imports earlier (math, torch) may be used.
"""

BUGS = {
    "sinusoidal_encoding": {
        # offset is documented ("row t is PE_{offset + t}") but the visible tests never pass it.
        "ignores_offset": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000 ** (i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe
''',
        # arange(offset, T): T - offset rows instead of T.
        "offset_shortens_table": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, T, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000 ** (i / d_model)
    pe = torch.zeros(pos.shape[0], d_model)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe
''',
        # offset added to the angle instead of to the position.
        "offset_added_to_angle": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000 ** (i / d_model) + offset
    pe = torch.zeros(T, d_model)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe
''',
        # No ValueError for an odd d_model: the last channel silently gets a sine only.
        "odd_d_model_accepted": '''
def sinusoidal_encoding(T, d_model, offset=0):
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000 ** (i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)[:, : d_model // 2]
    return pe
''',
        # assert instead of the ValueError the task asks for.
        "assert_instead_of_valueerror": '''
def sinusoidal_encoding(T, d_model, offset=0):
    assert d_model % 2 == 0, "d_model must be even"
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000 ** (i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe
''',
        # Built from Python floats: a float64 table, where the exercise's tensors are float32.
        "returns_float64": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    rows = []
    for p in range(offset, offset + T):
        row = []
        for i in range(d_model // 2):
            a = p / 10000 ** (2 * i / d_model)
            row += [math.sin(a), math.cos(a)]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64)
''',
        # Sines in the first half, cosines in the second (a common alternative layout, not the paper's).
        "concatenated_halves": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000 ** (i / d_model)
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)
''',
        # Exponent 2i/d computed with the channel index c instead of the pair index: odd channels get their own angle.
        "channel_index_exponent": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    c = torch.arange(d_model, dtype=torch.float32)
    angle = pos / 10000 ** (c / d_model)
    pe = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, 1::2])
    return pe
''',
        # Positions counted from 1.
        "positions_from_one": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset + 1, offset + T + 1, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000 ** (i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe
''',    },
    "rope_cos_sin": {
        "ignores_offset": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = torch.arange(T, dtype=torch.float32) * scale
    ang = pos[:, None] * theta[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()
''',
        # scale multiplies t but not the offset: (offset + t * scale) instead of (offset + t) * scale.
        "scale_skips_offset": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = offset + torch.arange(T, dtype=torch.float32) * scale
    ang = pos[:, None] * theta[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()
''',
        # base hard-coded to 10000: the documented argument is ignored.
        "ignores_base": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = 10000.0 ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = (offset + torch.arange(T, dtype=torch.float32)) * scale
    ang = pos[:, None] * theta[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()
''',
        "odd_head_size_accepted": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = (offset + torch.arange(T, dtype=torch.float32)) * scale
    ang = pos[:, None] * theta[None, :]
    ang = torch.cat([ang, ang], dim=-1)[:, :head_size]
    return ang.cos(), ang.sin()
''',
        # Computed in float64 "for accuracy" and never cast back: the task promises float32 tables.
        "returns_float64": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float64) / head_size)
    pos = (offset + torch.arange(T, dtype=torch.float64)) * scale
    ang = torch.outer(pos, theta)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()
''',
        # Adjacent-pair (RoFormer) layout [a0, a0, a1, a1] instead of the half-split one.
        "interleaved_layout": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = (offset + torch.arange(T, dtype=torch.float32)) * scale
    ang = torch.outer(pos, theta).repeat_interleave(2, dim=-1)
    return ang.cos(), ang.sin()
''',
        # scale divides the position (PI read backwards).
        "scale_divides": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = (offset + torch.arange(T, dtype=torch.float32)) / scale
    ang = torch.outer(pos, theta)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()
''',
        # offset used as a start of arange(offset, T): fewer rows than T.
        "offset_shortens_table": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = torch.arange(offset, T, dtype=torch.float32) * scale
    ang = torch.outer(pos, theta)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()
''',
        # Exponent j/d with j the pair index (the 2 of 2j/d forgotten).
        "exponent_j_over_d": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    j = torch.arange(head_size // 2, dtype=torch.float32)
    theta = base ** (-j / head_size)
    pos = (offset + torch.arange(T, dtype=torch.float32)) * scale
    ang = torch.outer(pos, theta)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()
''',        # The angles in half precision: cos/sin of large positions are far off.
        "half_precision_angles": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2:
        raise ValueError("head_size must be even")
    theta = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    pos = (offset + torch.arange(T, dtype=torch.float32)) * scale
    ang = torch.outer(pos, theta).half()
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float(), ang.sin().float()
''',
    },
    "rotate_half": {
        # Writes the result into x itself: the caller's tensor is changed.
        "mutates_input": '''
def rotate_half(x):
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h].clone(), x[..., h:].clone()
    x[..., :h] = -x2
    x[..., h:] = x1
    return x
''',
        # Neighbouring pairs (RoFormer layout).
        "adjacent_pairs": '''
def rotate_half(x):
    out = torch.empty_like(x)
    out[..., 0::2] = -x[..., 1::2]
    out[..., 1::2] = x[..., 0::2]
    return out
''',
        # Splits along dimension 1 for tensors of 3 or more dimensions (assumes (T, hs) or (B, T, hs) only).
        "dim1_for_batched": '''
def rotate_half(x):
    dim = -1 if x.dim() <= 2 else 1
    x1, x2 = x.chunk(2, dim=dim)
    return torch.cat([-x2, x1], dim=dim)
''',
        # Signs swapped: (x2, -x1) is a turn by -90 degrees.
        "wrong_direction": '''
def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x2, -x1], dim=-1)
''',
        # Rolls by half without the minus sign.
        "roll_without_sign": '''
def rotate_half(x):
    return torch.roll(x, x.shape[-1] // 2, dims=-1)
''',
    },
    "apply_rope": {
        # In place: x is overwritten with the result.
        "mutates_input": '''
def apply_rope(x, cos, sin):
    rot = rotate_half(x)
    x.mul_(cos)
    x.add_(rot * sin)
    return x
''',
        # Ignores the tables passed in and recomputes them from position 0 with the defaults.
        "recomputes_tables": '''
def apply_rope(x, cos, sin):
    T, hs = x.shape[-2], x.shape[-1]
    c, s = rope_cos_sin(T, hs)
    return x * c + rotate_half(x) * s
''',
        # Minus instead of plus: a rotation by -phi.
        "minus_sign": '''
def apply_rope(x, cos, sin):
    return x * cos - rotate_half(x) * sin
''',
        # Uses cos for both terms.
        "cos_twice": '''
def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * cos
''',
        # Rotates the table rather than x: x * cos + rotate_half(sin) * x.
        "rotates_the_table": '''
def apply_rope(x, cos, sin):
    return x * cos + rotate_half(sin) * x
''',
        # sin and cos swapped.
        "sin_cos_swapped": '''
def apply_rope(x, cos, sin):
    return x * sin + rotate_half(x) * cos
''',    },
}
