"""The live agent console (SPEC R1, R5, R6, R13): page, state endpoint, socket, sign-out hook."""
