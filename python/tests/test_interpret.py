"""strand.ism, strand.attributions and strand.score_variants equal the commands' outputs on the
same model and sequences, and bad input raises StrandError."""
import numpy as np
import pytest

import strand

BASES = "ACGT"


def _first_records(fasta, n):
    seqs, names = [], []
    for block in open(fasta).read().split(">")[1:n + 1]:
        head, *lines = block.splitlines()
        names.append(head.split()[0])
        seqs.append("".join(lines))
    return names, seqs


def _write_fasta(path, names, seqs):
    path.write_text("".join(f">{n}\n{s}\n" for n, s in zip(names, seqs)))


def test_ism_and_attributions_equal_the_commands(cli, cli_run, data, tmp_path):
    run, _ = cli_run
    model = strand.load_model(run / "model.safetensors")
    names, seqs = _first_records(data["fasta"], 4)
    _write_fasta(tmp_path / "few.fa", names, seqs)
    codes = strand.encode(seqs)

    effects = strand.ism(model, codes, start=10, end=60)
    assert effects.shape == (4, 2, 4, 50) and effects.dtype == np.float32
    cli("interpret", "ism", "--model", run / "model.safetensors", "--fasta", tmp_path / "few.fa",
        "--start", 10, "--end", 60, "--out", tmp_path / "ism")
    np.testing.assert_allclose(effects, np.load(tmp_path / "ism" / "ism.npy"), rtol=0, atol=1e-5)
    # 0 at the reference base.
    for n in range(4):
        for i in range(50):
            assert np.all(effects[n, :, codes[n, 10 + i], i] == 0)

    a = strand.attributions(model, codes, references=5, tasks=[model.tasks[1]])
    assert a["attributions"].shape == (4, 1, 4, 100) and a["delta"].shape == (4, 1)
    assert np.abs(a["delta"]).max() < 1e-4, "DeepLIFT is complete"
    cli("interpret", "attributions", "--model", run / "model.safetensors", "--fasta",
        tmp_path / "few.fa", "--references", 5, "--task", model.tasks[1], "--out",
        tmp_path / "attr")
    np.testing.assert_allclose(a["attributions"], np.load(tmp_path / "attr" / "attributions.npy"),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(a["hypothetical"], np.load(tmp_path / "attr" / "hypothetical.npy"),
                               rtol=0, atol=1e-6)


def test_score_variants_equals_the_command(cli, cli_run, tmp_path):
    run, _ = cli_run
    model = strand.load_model(run / "model.safetensors")
    rng = np.random.default_rng(7)
    chrom = "".join(BASES[i] for i in rng.integers(0, 4, 300))
    _write_fasta(tmp_path / "genome.fa", ["chr1"], [chrom])
    other = lambda b: "G" if b == "A" else "A"
    header = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=300>\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    rows = [(120, "a", chrom[119], other(chrom[119])), (150, "flipped", other(chrom[149]),
                                                          chrom[149])]
    (tmp_path / "v.vcf").write_text(header + "".join(
        f"chr1\t{p}\t{i}\t{r}\t{a}\t.\t.\t.\n" for p, i, r, a in rows))
    counts = strand.score_variants(model, tmp_path / "v.vcf", tmp_path / "genome.fa",
                                   tmp_path / "py.tsv", ref_mismatch="swap")
    assert counts["rows"] == 2 and counts["swapped"] == 1 and "line 5" in counts["log"]
    cli("score-variants", "--vcf", tmp_path / "v.vcf", "--genome", tmp_path / "genome.fa",
        "--model", run / "model.safetensors", "--ref-mismatch", "swap", "--out",
        tmp_path / "cli.tsv")
    py = [l.split("\t") for l in (tmp_path / "py.tsv").read_text().splitlines()]
    ours = [l.split("\t") for l in (tmp_path / "cli.tsv").read_text().splitlines()]
    assert py[0] == ours[0] and len(py) == len(ours) == 3
    for p, c in zip(py[1:], ours[1:]):
        assert p[:5] == c[:5]
        np.testing.assert_allclose(np.array(p[5:], float), np.array(c[5:], float), atol=1e-6)
    one = strand.score_variants(model, tmp_path / "v.vcf", tmp_path / "genome.fa",
                                tmp_path / "one.tsv", tasks=[model.tasks[-1]], ref_mismatch="swap")
    assert one["rows"] == 2
    single = [l.split("\t") for l in (tmp_path / "one.tsv").read_text().splitlines()]
    columns = [i for i, name in enumerate(py[0]) if name.startswith(model.tasks[-1] + ":")]
    assert single[0][5:] == [py[0][i] for i in columns]
    for s, p in zip(single[1:], py[1:]):
        assert s[5:] == [p[i] for i in columns]
    with pytest.raises(strand.StrandError, match="does not match the genome"):
        strand.score_variants(model, tmp_path / "v.vcf", tmp_path / "genome.fa",
                              tmp_path / "fail.tsv")
    assert not (tmp_path / "fail.tsv").exists()


def test_interpretation_refuses_bad_input(cli_run):
    run, _ = cli_run
    model = strand.load_model(run / "model.safetensors")
    with pytest.raises(strand.StrandError, match="uint8 base codes"):
        strand.ism(model, np.zeros((2, 100), np.float32))
    with pytest.raises(strand.StrandError, match="model takes length 100"):
        strand.attributions(model, np.zeros((2, 50), np.uint8))
    with pytest.raises(strand.StrandError, match="not an output of the model"):
        strand.ism(model, np.zeros((1, 100), np.uint8), tasks=["nope"])
    with pytest.raises(strand.StrandError, match="deeplift"):
        strand.attributions(model, np.zeros((1, 100), np.uint8), method="shap")
