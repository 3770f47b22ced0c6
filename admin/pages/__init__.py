"""The admin pages, one module per area: node administration and organisation dashboards."""
