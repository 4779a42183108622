"""Households' support measures: calendar rules, meetings, renewals, bilans due, the annual report."""
