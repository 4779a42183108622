"""The Département's figures per territory and measure type (issue 13): page, charts, PDF and XLSX."""
