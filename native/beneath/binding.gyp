{
  "targets": [
    {
      "target_name": "beneath",
      "sources": ["beneath.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
