#!/usr/bin/env python3
# The accuracy a model could reach on the suite task aligned_short (issue 18): the generating
# model itself (the SITE PWM at the two rule positions, either strand as planted, background GC
# from the config) turned into a posterior with the class priors. Run in the task directory of
# `strand simulate --suite --out DIR` (DIR/aligned_short); prints the accuracy per split.
import json, math, collections
g = json.load(open('ground_truth.json'))
pwm = [m for m in g['motifs'] if m['name'] == 'SITE'][0]['pwm_acgt']
start = {t['name']: t['start_window'][0] for t in g['tasks']}  # jitter 0: one start each
K = len(pwm)
seqs = {}
name = None
for line in open('sequences.fa'):
    line = line.strip()
    if line.startswith('>'): name = line[1:].split()[0]; seqs[name] = ''
    else: seqs[name] += line
idx = {'A': 0, 'C': 1, 'G': 2, 'T': 3}
gc = g['config']['gc']; bg = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
strands = collections.Counter()
for s in g['sequences']:
    lab = s['labels']['site']
    for p in s['planted']:
        if lab in start and p['start'] == start[lab]:
            strands[p['strand']] += 1
print('strands at the rule positions', dict(strands))
pf = strands['+'] / max(1, sum(strands.values()))
comp = {'A': 'T', 'C': 'G', 'G': 'C', 'T': 'A'}
def lr(w):
    if any(b not in idx for b in w): return 1.0
    f = math.prod(pwm[i][idx[b]] / bg[idx[b]] for i, b in enumerate(w))
    rc = ''.join(comp[b] for b in reversed(w))
    r = math.prod(pwm[i][idx[b]] / bg[idx[b]] for i, b in enumerate(rc))
    return pf * f + (1 - pf) * r
labels = {s['name']: (s['labels']['site'], s['split']) for s in g['sequences']}
prior = collections.Counter(l for l, _ in labels.values())
ok = collections.Counter(); n = collections.Counter()
for nm, (lab, split) in labels.items():
    sq = seqs[nm]
    post = {c: prior[c] * lr(sq[s:s + K]) for c, s in start.items()}
    post['background'] = prior['background']
    pred = max(post, key=post.get)
    for key in (split, 'all'):
        n[key] += 1; ok[key] += pred == lab
for k in n: print(k, n[k], 'oracle accuracy', round(ok[k] / n[k], 4))
