"""Face detection (dlib HOG), landmarks (dlib 68 points), alignment and tracking."""
