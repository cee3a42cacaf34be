"""Wrong implementations of the classes learners write in Chapter 5 (assembling GPT-2)."""

# Bugs of the independent zoo that slipped through once; one source, in benchmarks/fresh_zoo.
from benchmarks.fresh_zoo.ch05_gpt import BUGS as FRESH

_LN_INIT = '''
    def __init__(self, n_embd, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd))
        self.eps = eps
'''

_MLP_INIT = '''
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
'''

_BLOCK_INIT = '''
    def __init__(self, config, attn=None):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.attn = attn if attn is not None else default_attention(config)
        self.ln_2 = LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.mlp = MLP(config)
'''

_GPT_MODULES = '''
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            h=nn.ModuleList(Block(config) for _ in range(config.n_layer)),
            ln_f=LayerNorm(config.n_embd, eps=config.layer_norm_eps),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
'''

_GPT_INIT = '''
    def __init__(self, config):''' + _GPT_MODULES + '''        self.lm_head.weight = self.transformer.wte.weight
'''


def _ln(forward: str) -> str:
    return "\nclass LayerNorm(nn.Module):" + _LN_INIT + forward


def _mlp(forward: str) -> str:
    return "\nclass MLP(nn.Module):" + _MLP_INIT + forward


def _block(forward: str) -> str:
    return "\nclass Block(nn.Module):" + _BLOCK_INIT + forward


def _gpt(forward: str, init: str = _GPT_INIT) -> str:
    return "\nclass GPT2(nn.Module):" + init + forward


BUGS = {
    "LayerNorm": {
        # torch's x.var() divides by C - 1 unless told otherwise.
        "unbiased_variance": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
'''),
        "eps_outside_the_square_root": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        std = x.std(dim=-1, keepdim=True, unbiased=False)
        return (x - mean) / (std + self.eps) * self.weight + self.bias
'''),
        "no_eps": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var) * self.weight + self.bias
'''),
        "divides_by_variance_not_std": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / (var + self.eps) * self.weight + self.bias
'''),
        "statistics_over_the_whole_tensor": _ln('''
    def forward(self, x):
        mean = x.mean()
        var = ((x - mean) ** 2).mean()
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
'''),
        # Batch norm's axis: statistics over the batch/time axis, per channel.
        "statistics_over_the_first_axis": _ln('''
    def forward(self, x):
        mean = x.mean(dim=0, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
'''),
        "bias_added_before_the_gain": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return ((x - mean) / torch.sqrt(var + self.eps) + self.bias) * self.weight
'''),
        # Works forward, but the gain and bias never learn.
        "gain_and_bias_detached": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight.detach() + self.bias.detach()
'''),
        # The textbook one-pass formula: cancels when the mean is large and the spread small.
        "one_pass_variance": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = (x * x).mean(dim=-1, keepdim=True) - mean ** 2
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
'''),
        "computes_in_float32": _ln('''
    def forward(self, x):
        x = x.float()
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight.float() + self.bias.float()
'''),
        "eps_argument_ignored": _ln('''
    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * self.weight + self.bias
'''),
    },
    "MLP": {
        "relu_instead_of_gelu": _mlp('''
    def forward(self, x):
        return self.c_proj(torch.relu(self.c_fc(x)))
'''),
        # F.gelu's default is the exact erf form; GPT-2 was trained with the tanh approximation.
        "exact_erf_gelu_not_tanh": _mlp('''
    def forward(self, x):
        h = self.c_fc(x)
        h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))
        return self.c_proj(h)
'''),
        # The GELU paper's other approximation.
        "sigmoid_gelu_approximation": _mlp('''
    def forward(self, x):
        h = self.c_fc(x)
        return self.c_proj(h * torch.sigmoid(1.702 * h))
'''),
        "tanh_gelu_without_the_cubic_term": _mlp('''
    def forward(self, x):
        h = self.c_fc(x)
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * h))
        return self.c_proj(h)
'''),
        "gelu_also_after_c_proj": _mlp('''
    def forward(self, x):
        def gelu(h):
            return 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * h ** 3)))
        return gelu(self.c_proj(gelu(self.c_fc(x))))
'''),
        "no_activation": _mlp('''
    def forward(self, x):
        return self.c_proj(self.c_fc(x))
'''),
        # tanh written out with exponentials: inf / inf = NaN once exp(2z) overflows.
        "tanh_written_with_exp": _mlp('''
    def forward(self, x):
        h = self.c_fc(x)
        z = math.sqrt(2.0 / math.pi) * (h + 0.044715 * h ** 3)
        t = (torch.exp(2 * z) - 1) / (torch.exp(2 * z) + 1)
        return self.c_proj(0.5 * h * (1.0 + t))
'''),
        "tanh_as_sinh_over_cosh": _mlp('''
    def forward(self, x):
        h = self.c_fc(x)
        z = math.sqrt(2.0 / math.pi) * (h + 0.044715 * h ** 3)
        return self.c_proj(0.5 * h * (1.0 + torch.sinh(z) / torch.cosh(z)))
'''),
    },
    "Block": {
        # The original Transformer's (and GPT-1's) order.
        "post_norm": _block('''
    def forward(self, x):
        x = self.ln_1(x + self.attn(x))
        x = self.ln_2(x + self.mlp(x))
        return x
'''),
        "missing_residual_around_attention": _block('''
    def forward(self, x):
        x = self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x
'''),
        "missing_residual_around_mlp": _block('''
    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = self.mlp(self.ln_2(x))
        return x
'''),
        # Normalises the stream itself: the residual adds to LN(x), not to x.
        "residual_adds_to_the_normalised_x": _block('''
    def forward(self, x):
        x = self.ln_1(x)
        x = x + self.attn(x)
        x = self.ln_2(x)
        x = x + self.mlp(x)
        return x
'''),
        "ln_1_used_twice": _block('''
    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_1(x))
        return x
'''),
        # GPT-J's parallel block: both sub-blocks read the same input.
        "attention_and_mlp_in_parallel": _block('''
    def forward(self, x):
        return x + self.attn(self.ln_1(x)) + self.mlp(self.ln_2(x))
'''),
        "mlp_before_attention": _block('''
    def forward(self, x):
        x = x + self.mlp(self.ln_2(x))
        x = x + self.attn(self.ln_1(x))
        return x
'''),
        "ln_2_reads_the_attention_output": _block('''
    def forward(self, x):
        a = self.attn(self.ln_1(x))
        x = x + a
        return x + self.mlp(self.ln_2(a))
'''),
        # from the fresh zoo (benchmarks/fresh_zoo): same forward values, no gradient along the residual;
        # test_Block now compares d/dx (it was caught only later, by test_GPT2's SGD step)
        "detached_residual": FRESH["Block"]["detached_residual"],
    },
    "GPT2": {
        "no_weight_tying": _gpt('''
    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)
''', init='''
    def __init__(self, config):''' + _GPT_MODULES),
        # Copies the values once: equal at the start, two separate tensors afterwards.
        "tied_by_copying_values": _gpt('''
    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)
''', init='''
    def __init__(self, config):''' + _GPT_MODULES + '''        with torch.no_grad():
            self.lm_head.weight.copy_(self.transformer.wte.weight)
'''),
        "final_layernorm_forgotten": _gpt('''
    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(x)
'''),
        "no_position_embedding": _gpt('''
    def forward(self, idx):
        x = self.transformer.wte(idx)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)
'''),
        "positions_start_at_one": _gpt('''
    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(1, T + 1, device=idx.device).clamp(max=self.config.block_size - 1)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)
'''),
        # Looks up the position table with the token ids instead of the positions.
        "position_table_indexed_by_token_ids": _gpt('''
    def forward(self, idx):
        x = self.transformer.wte(idx) + self.transformer.wpe(idx % self.config.block_size)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)
'''),
        # Vaswani et al. sec. 3.4 scale the embedding by sqrt(d_model); GPT-2 does not.
        "embedding_scaled_by_sqrt_d_model": _gpt('''
    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.wte(idx) * math.sqrt(self.config.n_embd) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)
'''),
        "only_the_first_block": _gpt('''
    def forward(self, idx):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        x = self.transformer.h[0](x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)
'''),
    },
}
