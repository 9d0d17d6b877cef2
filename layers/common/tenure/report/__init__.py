"""The retention report's pure rendering: numbers in words, SVG charts, CSV and the HTML page.

No I/O and no AWS here, so the local tooling and (later) the metrics function render the same
page from the same metrics document."""
