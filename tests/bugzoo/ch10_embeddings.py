"""Wrong implementations of the functions learners write in Chapter 10 (embedding distances)."""

BUGS = {
    "cosine_similarity_matrix": {
        "textbook_formula_nan_for_zero_vectors": '''
def cosine_similarity_matrix(a, b):
    return (a @ b.T) / (a.norm(dim=1)[:, None] * b.norm(dim=1)[None, :])
''',
        "normalises_the_wrong_axis": '''
def cosine_similarity_matrix(a, b):
    a_hat = a / a.norm(dim=0, keepdim=True).clamp_min(1e-12)
    b_hat = b / b.norm(dim=0, keepdim=True).clamp_min(1e-12)
    return (a_hat @ b_hat.T).clamp(-1, 1)
''',
        "eps_in_the_denominator": '''
def cosine_similarity_matrix(a, b):
    return (a @ b.T) / (a.norm(dim=1)[:, None] * b.norm(dim=1)[None, :] + 1e-8)
''',
        "f_normalize_overflows_and_underflows": '''
def cosine_similarity_matrix(a, b):
    return (F.normalize(a, dim=1) @ F.normalize(b, dim=1).T).clamp(-1, 1)
''',
        "nan_to_num_patch": '''
def cosine_similarity_matrix(a, b):
    sim = (a @ b.T) / (a.norm(dim=1)[:, None] * b.norm(dim=1)[None, :])
    return torch.nan_to_num(sim, nan=0.0).clamp(-1, 1)
''',
        "compares_a_with_itself": '''
def cosine_similarity_matrix(a, b):
    def unit(x):
        s = x.abs().amax(dim=1, keepdim=True)
        x = x / torch.where(s > 0, s, torch.ones_like(s))
        n = x.norm(dim=1, keepdim=True)
        return x / torch.where(n > 0, n, torch.ones_like(n))
    return (unit(a) @ unit(a).T).clamp(-1, 1)
''',
        "casts_to_float32": '''
def cosine_similarity_matrix(a, b):
    def unit(x):
        x = x.float()
        s = x.abs().amax(dim=1, keepdim=True)
        x = x / torch.where(s > 0, s, torch.ones_like(s))
        n = x.norm(dim=1, keepdim=True)
        return x / torch.where(n > 0, n, torch.ones_like(n))
    return (unit(a) @ unit(b).T).clamp(-1, 1)
''',
        "no_clamp": '''
def cosine_similarity_matrix(a, b):
    def unit(x):
        s = x.abs().amax(dim=1, keepdim=True)
        x = x / torch.where(s > 0, s, torch.ones_like(s))
        n = x.norm(dim=1, keepdim=True)
        return x / torch.where(n > 0, n, torch.ones_like(n))
    return unit(a) @ unit(b).T
''',
        "normalises_in_place": '''
def cosine_similarity_matrix(a, b):
    for x in (a, b):
        s = x.abs().amax(dim=1, keepdim=True)
        x /= torch.where(s > 0, s, torch.ones_like(s))
        n = x.norm(dim=1, keepdim=True)
        x /= torch.where(n > 0, n, torch.ones_like(n))
    return (a @ b.T).clamp(-1, 1)
''',
    },
    "top_k_neighbours": {
        "argsort_ascending": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if exclude_self:
        if Q != N:
            raise ValueError("not square")
        sim = sim.masked_fill(torch.eye(N, dtype=torch.bool), float("-inf"))
    if not 1 <= k <= (N - 1 if exclude_self else N):
        raise ValueError("bad k")
    return torch.argsort(sim, dim=1, stable=True)[:, :k]
''',
        "returns_the_query_itself": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if not 1 <= k <= N:
        raise ValueError("bad k")
    return torch.sort(sim, dim=1, descending=True, stable=True).indices[:, :k]
''',
        "diagonal_set_to_zero": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if exclude_self:
        if Q != N:
            raise ValueError("not square")
        sim = sim.masked_fill(torch.eye(N, dtype=torch.bool), 0.0)
    if not 1 <= k <= (N - 1 if exclude_self else N):
        raise ValueError("bad k")
    return torch.sort(sim, dim=1, descending=True, stable=True).indices[:, :k]
''',
        "drops_the_first_column": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if exclude_self and Q != N:
        raise ValueError("not square")
    if not 1 <= k <= (N - 1 if exclude_self else N):
        raise ValueError("bad k")
    order = torch.sort(sim, dim=1, descending=True, stable=True).indices
    return order[:, 1:k + 1] if exclude_self else order[:, :k]
''',
        "returns_the_values": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if exclude_self:
        if Q != N:
            raise ValueError("not square")
        sim = sim.masked_fill(torch.eye(N, dtype=torch.bool), float("-inf"))
    if not 1 <= k <= (N - 1 if exclude_self else N):
        raise ValueError("bad k")
    return torch.sort(sim, dim=1, descending=True, stable=True).values[:, :k]
''',
        "sorts_the_wrong_axis": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if exclude_self:
        if Q != N:
            raise ValueError("not square")
        sim = sim.masked_fill(torch.eye(N, dtype=torch.bool), float("-inf"))
    if not 1 <= k <= (N - 1 if exclude_self else N):
        raise ValueError("bad k")
    return torch.sort(sim, dim=0, descending=True, stable=True).indices[:k].T
''',
        "clamps_k_silently": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if exclude_self:
        sim = sim.masked_fill(torch.eye(Q, N, dtype=torch.bool), float("-inf"))
    k = max(1, min(k, N - 1 if exclude_self else N))
    return torch.sort(sim, dim=1, descending=True, stable=True).indices[:, :k]
''',
        "unstable_ties_reversed": '''
def top_k_neighbours(sim, k, exclude_self=False):
    Q, N = sim.shape
    if exclude_self:
        if Q != N:
            raise ValueError("not square")
        sim = sim.masked_fill(torch.eye(N, dtype=torch.bool), float("-inf"))
    if not 1 <= k <= (N - 1 if exclude_self else N):
        raise ValueError("bad k")
    return torch.sort(sim, dim=1, stable=True).indices.flip(1)[:, :k]
''',
    },
    "relative_contrast": {
        "divides_by_d_max": '''
def relative_contrast(queries, points):
    dist = (queries[:, None, :] - points[None, :, :]).norm(dim=-1)
    return (dist.amax(1) - dist.amin(1)) / dist.amax(1)
''',
        "squared_distances": '''
def relative_contrast(queries, points):
    dist = ((queries[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    return (dist.amax(1) - dist.amin(1)) / dist.amin(1)
''',
        "averages_over_queries": '''
def relative_contrast(queries, points):
    dist = (queries[:, None, :] - points[None, :, :]).norm(dim=-1)
    return ((dist.amax(1) - dist.amin(1)) / dist.amin(1)).mean()
''',
        "min_max_over_the_wrong_axis": '''
def relative_contrast(queries, points):
    dist = (queries[:, None, :] - points[None, :, :]).norm(dim=-1)
    return (dist.amax(0) - dist.amin(0)) / dist.amin(0)
''',
        "ratio_not_contrast": '''
def relative_contrast(queries, points):
    dist = (queries[:, None, :] - points[None, :, :]).norm(dim=-1)
    return dist.amax(1) / dist.amin(1)
''',
        "eps_guard_on_d_min": '''
def relative_contrast(queries, points):
    dist = (queries[:, None, :] - points[None, :, :]).norm(dim=-1)
    return (dist.amax(1) - dist.amin(1)) / (dist.amin(1) + 1e-8)
''',
        "cosine_instead_of_distance": '''
def relative_contrast(queries, points):
    dist = 1 - F.normalize(queries, dim=1) @ F.normalize(points, dim=1).T
    return (dist.amax(1) - dist.amin(1)) / dist.amin(1)
''',
        "expansion_in_float32": '''
def relative_contrast(queries, points):
    q, x = queries.float(), points.float()
    sq = (q * q).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2 * q @ x.T
    dist = sq.clamp_min(0).sqrt()
    return (dist.amax(1) - dist.amin(1)) / dist.amin(1)
''',
    },
}
