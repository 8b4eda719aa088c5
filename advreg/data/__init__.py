"""The datasets: where their files come from (``sources``: checksums, mirrors, the official sizes),
the artifact a job reads (``artifact``: one tensor file per dataset, the test split), and the
generated stand-in of a rehearsal (``stand_in``)."""
