"""The database the reports live in: building it, the report storage and its migrations,
privileges, invoking dbt and checking source freshness."""
