"""The job contract between the gateway and the workers, importable without torch, av or dlib.

Both sides build on it and never on each other:
- `options`: what a caller may choose for a video job or a live stream (defaults and bounds
  once, from the core's `PipelineConfig`), and the payload of each task;
- `tasks`: the task names and the shape of a task's outcome;
- `settings`: the `VFER_*` settings that gateway and workers must agree on;
- `queue`: the Celery configuration both sides apply, as plain data;
- `blobs`: where uploads and stream windows wait for a worker (the blob store);
- `framepack`: a stream window's frames as one blob.
"""
