"""The analysis notebook executed headless (nbclient + an IPython kernel), as a user would
open it, on the results folder of a real tiny sweep: it must run to the end and show the
lottery-ticket headline, its table and figure, and write the report."""

import pytest

from sweep_helpers import ROOT, load_sweep

NOTEBOOK = ROOT / "analysis" / "notebooks" / "paper_figures.ipynb"


@pytest.mark.ray
def test_notebook_runs_headless_on_a_real_results_folder(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    results = tmp_path / "results"
    code = load_sweep("imp_sparsity").main([
        "--quick", "--rounds", "2", "--epochs", "2", "--storage", str(results), "--name", "imp",
        "--num-cpus", "2"])
    assert code == 0
    monkeypatch.setenv("SPARSENET_RESULTS", str(results))
    monkeypatch.setenv("SPARSENET_REPORT", str(tmp_path / "report"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/markdown", ""))
                     + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "1 experiment(s) under" in text
    assert "Winning tickets stay within 0.5 points" in text
    assert "| weights remaining | compression |" in text and "| winning (%) | random (%) |" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the IMP figure
    assert (tmp_path / "report" / "report.md").exists()
