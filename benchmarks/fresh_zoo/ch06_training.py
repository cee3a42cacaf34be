"""Fresh bug zoo for ch06_training, written from the release only (task text, visible tests,
chapter page), before reading the solution or the hidden tests.

Each entry is a complete wrong definition a learner could plausibly write; most pass the
visible tests. Names the notebook defines earlier (math, torch, nn, YourAdamW, sweep_config,
sweep_model, sweep_windows, val_loss, SWEEP_STEPS, get_lr, param_groups, train_step) may be used.
"""

BUGS = {
    "get_lr": {
        # no special case for lr_decay_iters == warmup_iters: ZeroDivisionError at it = W
        "divides_by_zero_when_no_decay": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    p = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))
''',
        # D == W handled, but returns the peak lr instead of min_lr
        "no_decay_phase_returns_lr": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.lr
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    p = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))
''',
        # decay end taken from cfg.max_iters instead of cfg.lr_decay_iters
        "decays_over_max_iters": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    end = cfg.max_iters
    if it > end:
        return cfg.min_lr
    p = (it - cfg.warmup_iters) / (end - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))
''',
        # computed with torch.cos on a tensor: returns a 0-d tensor, not a float
        "returns_tensor": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    p = torch.tensor((it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + torch.cos(math.pi * p))
''',
        # warmup lr * it / W: step 0 at learning rate 0
        "warmup_without_plus_one": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * it / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    p = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))
''',
        # cosine decays to 0, min_lr only after the decay
        "cosine_to_zero": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    p = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * p))
''',
        # warmup_iters = 0 with the warmup written as min(1, (it + 1) / W): ZeroDivisionError
        "warmup_zero_divides": '''
def get_lr(it, cfg):
    warm = min(1.0, (it + 1) / cfg.warmup_iters)
    if it < cfg.warmup_iters:
        return cfg.lr * warm
    if it >= cfg.lr_decay_iters:
        return cfg.min_lr
    p = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))
''',
    },
    "adamw_step": {
        # updates the caller's m and v in place (m.mul_(...))
        "m_v_in_place": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m.mul_(b1).add_((1 - b1) * grad)
    v.mul_(b2).add_((1 - b2) * grad * grad)
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        # eps inside the square root: sqrt(v_hat + eps)
        "eps_inside_sqrt": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * (m_hat / torch.sqrt(v_hat + eps) + weight_decay * theta)
    return theta, m, v
''',
        # betas hard-coded to the defaults (0.9, 0.999)
        "ignores_betas": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = 0.9, 0.999
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        # eps hard-coded to 1e-8
        "ignores_eps": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + 1e-8) + weight_decay * theta)
    return theta, m, v
''',
        # weight_decay hard-coded to 0.01
        "ignores_weight_decay": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + 0.01 * theta)
    return theta, m, v
''',
        # computes in float32 whatever the input dtype
        "casts_to_float32": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    theta, grad, m, v = theta.float(), grad.float(), m.float(), v.float()
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        # bias corrections as float32 tensors: float64 inputs lose precision
        "bias_correction_as_float32_tensor": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    bc1 = 1 - torch.tensor(b1) ** t
    bc2 = 1 - torch.tensor(b2) ** t
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    step = (m / bc1) / ((v / bc2).sqrt() + eps)
    return (theta - lr * (step + weight_decay * theta)).to(theta.dtype), m, v
''',
        # Adam paper's efficient form: eps added to sqrt(v), not to sqrt(v_hat)
        "eps_not_bias_corrected": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    step_size = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    theta = theta - step_size * m / (v.sqrt() + eps) - lr * weight_decay * theta
    return theta, m, v
''',
        # decay applied to the already-updated weights
        "decay_after_update": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * m_hat / (v_hat.sqrt() + eps)
    theta = theta - lr * weight_decay * theta
    return theta, m, v
''',
        # decay -weight_decay * theta, not multiplied by lr
        "decay_not_scaled_by_lr": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * m_hat / (v_hat.sqrt() + eps) - weight_decay * theta
    return theta, m, v
''',
        # Adam with L2: decay added to the gradient
        "l2_through_gradient": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    grad = grad + weight_decay * theta
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return theta - lr * m_hat / (v_hat.sqrt() + eps), m, v
''',
        # returns m_hat, v_hat as the new state
        "returns_bias_corrected_moments": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m_hat, v_hat
''',
    },
    "param_groups": {
        # ignores requires_grad: frozen parameters are listed
        "keeps_frozen_parameters": '''
def param_groups(model, weight_decay):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
''',
        # decays nn.Linear weights only (by module type): position embedding left out
        "embeddings_not_decayed": '''
def param_groups(model, weight_decay):
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            (decay if isinstance(module, nn.Linear) and name == "weight" else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
''',
        # no decay only for exactly 1-D parameters: 0-d scalars are decayed
        "scalar_parameters_decayed": '''
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    no_decay = [p for p in params if p.dim() == 1]
    decay = [p for p in params if p.dim() != 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
''',
        # weight_decay argument ignored, 0.1 typed in
        "weight_decay_hardcoded": '''
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
''',
        # generators instead of lists: they are empty once read
        "params_as_generators": '''
def param_groups(model, weight_decay):
    return [{"params": (p for p in model.parameters() if p.requires_grad and p.dim() >= 2), "weight_decay": weight_decay},
            {"params": (p for p in model.parameters() if p.requires_grad and p.dim() < 2), "weight_decay": 0.0}]
''',
        # decides by name ('bias' or 'ln' in the name)
        "by_name": '''
def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if "bias" in name or "ln" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
''',
        # walks the modules: the tied weight is listed twice
        "walks_modules_twice_tied": '''
def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if p.requires_grad:
                (decay if p.dim() >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
''',
    },
    "train_step": {
        # never clips
        "ignores_grad_clip": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # clips inside the accumulation loop, after every backward
        "clips_each_micro_batch": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        total += loss.item()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # clips after optimizer.step(): too late
        "clips_after_step": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    optimizer.step()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # clips every parameter's own norm, not the global norm
        "clips_each_parameter": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        for p in model.parameters():
            if p.grad is not None:
                torch.nn.utils.clip_grad_norm_([p], grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # clip_grad_value_ instead of the norm
        "clips_by_value": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_value_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # hand-written clip that rescales to grad_clip even when the norm is smaller
        "always_rescales_to_clip": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
        for g in grads:
            g.mul_(grad_clip / (norm + 1e-6))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # hand-written global norm as the sum of per-parameter norms
        "norm_as_sum_of_norms": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = sum(g.norm() for g in grads)
        if norm > grad_clip:
            for g in grads:
                g.mul_(grad_clip / norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # returns the last micro-batch's loss
        "returns_last_loss": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        (loss / grad_accum_steps).backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()
''',
        # zero_grad at the start of the step, not after it
        "zero_grad_at_start": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return total
''',
    },
    "train_with_lr": {
        # YourAdamW built without the config's betas: (0.9, 0.999)
        "default_betas": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.999))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, cfg)
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        # train_step without grad_clip
        "no_grad_clip": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, cfg)
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=0.0)
    return val_loss(model)
''',
        # sets the groups' lr once, before the loop, to get_lr(0, cfg)
        "lr_set_once": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    for group in opt.param_groups:
        group["lr"] = get_lr(0, cfg)
    last = None
    for it in range(steps):
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        # constant peak lr: get_lr never called
        "no_schedule": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = cfg.lr
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        # a fresh RandomWindows each step: the same first batch every step
        "same_batch_every_step": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, cfg)
        last = train_step(model, opt, sweep_windows().next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        # param_groups(model, 0.0): no decay at all
        "no_weight_decay": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, 0.0), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, cfg)
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        # get_lr(it + 1, cfg)
        "schedule_off_by_one": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = get_lr(it + 1, cfg)
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        # returns the last training loss instead of val_loss(model)
        "returns_training_loss": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, cfg)
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return float(last)
''',
        # loops over SWEEP_STEPS whatever steps is
        "ignores_steps": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(SWEEP_STEPS):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, cfg)
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        # sweep_config(lr) without steps: the schedule always spans 40 steps
        "config_ignores_steps": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr)
    model = sweep_model()
    windows = sweep_windows()
    opt = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    last = None
    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = get_lr(it, cfg)
        last = train_step(model, opt, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
    },
}
