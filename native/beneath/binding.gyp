{
  "targets": [
    {
      "target_name": "beneath",
      "sources": ["beneath.c", "batch.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
