"""``ganplay dirac``: one JSON object, a PNG, one-line errors."""
import json

from ganplay.cli import main


def test_dirac_json(capsys):
    rc = main(["dirac", "--loss", "ns", "--opt", "sgd", "--lr", "0.1", "--updates", "simultaneous",
               "--steps", "2000", "--set", "r1_weight=1", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["eigenvalues"] == [[-0.5, 0.0], [-0.5, 0.0]] or all(
        abs(re + 0.5) < 1e-5 and abs(im) < 1e-3 for re, im in out["eigenvalues"])
    assert out["final_distance"] < 1e-3 and abs(out["max_distance"] - 2**0.5) < 1e-6
    assert out["settings"]["r1_weight"] == 1.0 and out["step_stable"]


def test_dirac_json_for_a_cycling_game(capsys):
    assert main(["dirac", "--loss", "minimax", "--updates", "simultaneous", "--start", "0.5,0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(round(im, 4) for _, im in out["eigenvalues"]) == [-0.5, 0.5]
    assert out["final_distance"] > 2 * 0.5 * 2**0.5 and not out["step_stable"]
    assert "circles" in out["explanation"]


def test_dirac_png(tmp_path, capsys):
    png = tmp_path / "dirac.png"
    assert main(["dirac", "--preset", "alternating-gd", "--steps", "300", "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "eigenvalues at the equilibrium" in capsys.readouterr().out


def test_dirac_errors_are_one_line(capsys):
    for argv, words in ((["--start", "1"], "--start"), (["--set", "r3_weight=1"], "r3_weight"),
                        (["--lr", "-1"], "lr"), (["--loss", "nope"], "--loss")):
        try:
            rc = main(["dirac", *argv])
        except SystemExit as exc:  # argparse's own refusals exit 2
            rc = exc.code
        err = capsys.readouterr().err
        assert rc != 0 and words in err and err.count("\n") == 1 and "Traceback" not in err, argv
