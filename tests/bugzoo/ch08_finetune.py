"""Wrong implementations of what learners write in Chapter 8 (LoRA and replay)."""

_LORA = '''
class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        {freeze}
        self.r, self.alpha, self.scaling = r, alpha, {scaling}
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, dtype=w.dtype, device=w.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, dtype=w.dtype, device=w.device))
        {init}

    def forward(self, x):
        return {forward}

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                           dtype=self.base.weight.dtype, device=self.base.weight.device)
        with torch.no_grad():
            merged.weight.copy_({merged_weight})
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged
'''

_RIGHT = dict(
    freeze="self.base.requires_grad_(False)",
    scaling="alpha / r",
    init="nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))",
    forward="self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling",
    merged_weight="self.base.weight + self.scaling * (self.lora_B @ self.lora_A)",
)


def _lora(**wrong) -> str:
    return _LORA.format(**{**_RIGHT, **wrong})


_REPLAY = '''
def replay_batch(batch_b, batch_a, fraction, generator):
    (x_b, y_b), (x_a, y_a) = batch_b, batch_a
    n = x_b.shape[0]
    k = {k}
    perm = {perm}
    x = torch.cat([{x_parts}])[perm]
    y = torch.cat([{y_parts}])[{y_perm}]
    return x, y
'''

_RIGHT_REPLAY = dict(
    k="round(fraction * n)",
    perm="torch.randperm(n, generator=generator)",
    x_parts="x_b[:n - k], x_a[:k]",
    y_parts="y_b[:n - k], y_a[:k]",
    y_perm="perm",
)


def _replay(**wrong) -> str:
    return _REPLAY.format(**{**_RIGHT_REPLAY, **wrong})


BUGS = {
    "LoRALinear": {
        # B random as well as A: the model no longer starts as the pretrained one.
        "b_initialised_random": _lora(init="nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5)); "
                                           "nn.init.normal_(self.lora_B, std=0.02)"),
        # A and B both zero: the output is right at first, but no gradient ever reaches them.
        "a_and_b_both_zero": _lora(init="nn.init.zeros_(self.lora_A)"),
        # The update scaled by alpha, not alpha / r (the same only when r = 1).
        "scaling_alpha_not_alpha_over_r": _lora(scaling="alpha"),
        # Forgot to freeze the pretrained weight: full fine-tuning plus an adapter.
        "base_not_frozen": _lora(freeze="pass"),
        # merge() forgets alpha / r: the merged model is not the one that was trained.
        "merge_forgets_scaling": _lora(merged_weight="self.base.weight + self.lora_B @ self.lora_A"),
        # merge() adds the transpose (A^T B^T): wrong, and a shape error unless the layer is square.
        "merge_transposed": _lora(merged_weight="self.base.weight + self.scaling * (self.lora_B @ self.lora_A).T"),
        # merge() adds the update into the base layer in place and returns it: the LoRA layer
        # now counts the update twice.
        "merge_in_place": _LORA.format(**_RIGHT).replace(
            '''        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                           dtype=self.base.weight.dtype, device=self.base.weight.device)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scaling * (self.lora_B @ self.lora_A))
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged''',
            '''        with torch.no_grad():
            self.base.weight += self.scaling * (self.lora_B @ self.lora_A)
        return self.base'''),
        # A dtype left at float32 for a float64 layer (torch.empty's default).
        "lora_matrices_default_dtype": _LORA.format(**_RIGHT).replace(
            "torch.empty(r, base.in_features, dtype=w.dtype, device=w.device)", "torch.empty(r, base.in_features)").replace(
            "torch.zeros(base.out_features, r, dtype=w.dtype, device=w.device)", "torch.zeros(base.out_features, r)").replace(
            "return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling",
            "return self.base(x) + (x.float() @ self.lora_A.T @ self.lora_B.T).to(x.dtype) * self.scaling"),
    },
    "replay_batch": {
        # k rows from B and n - k from A: the fraction of A is 1 - fraction.
        "mixes_one_minus_fraction_of_a": _replay(x_parts="x_b[:k], x_a[:n - k]", y_parts="y_b[:k], y_a[:n - k]"),
        # int() truncates: 0.3 * 12 = 3.6 gives 3 rows of A, not 4.
        "truncates_instead_of_rounding": _replay(k="int(fraction * n)"),
        # No shuffle: A's rows always at the end of the batch.
        "not_shuffled": _replay(perm="torch.arange(n)"),
        # x and y shuffled with two different permutations: targets no longer match inputs.
        "x_and_y_permuted_separately": _replay(y_perm="torch.randperm(n, generator=generator)"),
        # Samples only from A.
        "only_from_a": _replay(x_parts="x_a[:n - k], x_a[:k]", y_parts="y_a[:n - k], y_a[:k]"),
        # A permutation not drawn from the given generator: not reproducible from the seed.
        "ignores_the_generator": _replay(perm="torch.randperm(n)"),
    },
}
