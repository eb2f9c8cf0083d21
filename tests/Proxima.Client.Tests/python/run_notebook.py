"""Executes one notebook headless (nbclient + ipykernel) in its own folder; writes the executed copy.
argv: notebook.ipynb executed-output.ipynb. Any cell error fails with the cell's traceback."""
import os
import sys

import nbformat
from nbclient import NotebookClient

src, dst = sys.argv[1:3]
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
client.execute()
nbformat.write(nb, dst)
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
if errors:
    raise SystemExit(f"{len(errors)} cell error(s): {errors[0].get('ename')}: {errors[0].get('evalue')}")
print("executed", src)
