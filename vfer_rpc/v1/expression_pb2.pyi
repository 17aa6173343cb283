from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FrameFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAME_FORMAT_UNSPECIFIED: _ClassVar[FrameFormat]
    FRAME_FORMAT_JPEG: _ClassVar[FrameFormat]
    FRAME_FORMAT_PNG: _ClassVar[FrameFormat]
    FRAME_FORMAT_GRAY: _ClassVar[FrameFormat]
    FRAME_FORMAT_BGR: _ClassVar[FrameFormat]
FRAME_FORMAT_UNSPECIFIED: FrameFormat
FRAME_FORMAT_JPEG: FrameFormat
FRAME_FORMAT_PNG: FrameFormat
FRAME_FORMAT_GRAY: FrameFormat
FRAME_FORMAT_BGR: FrameFormat

class Box(_message.Message):
    __slots__ = ("x", "y", "width", "height")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    width: int
    height: int
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class Window(_message.Message):
    __slots__ = ("start_s", "end_s", "box", "distribution", "label")
    class DistributionEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    start_s: float
    end_s: float
    box: Box
    distribution: _containers.ScalarMap[str, float]
    label: str
    def __init__(self, start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., box: _Optional[_Union[Box, _Mapping]] = ..., distribution: _Optional[_Mapping[str, float]] = ..., label: _Optional[str] = ...) -> None: ...

class Face(_message.Message):
    __slots__ = ("track_id", "start_s", "end_s", "box", "samples", "distribution", "label", "windows", "margin", "uncertain")
    class DistributionEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_FIELD_NUMBER: _ClassVar[int]
    track_id: int
    start_s: float
    end_s: float
    box: Box
    samples: int
    distribution: _containers.ScalarMap[str, float]
    label: str
    windows: _containers.RepeatedCompositeFieldContainer[Window]
    margin: float
    uncertain: bool
    def __init__(self, track_id: _Optional[int] = ..., start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., box: _Optional[_Union[Box, _Mapping]] = ..., samples: _Optional[int] = ..., distribution: _Optional[_Mapping[str, float]] = ..., label: _Optional[str] = ..., windows: _Optional[_Iterable[_Union[Window, _Mapping]]] = ..., margin: _Optional[float] = ..., uncertain: _Optional[bool] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "backend", "device", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    backend: str
    device: str
    kind: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., backend: _Optional[str] = ..., device: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class VideoInfo(_message.Message):
    __slots__ = ("duration_s", "fps", "frames", "width", "height")
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    duration_s: float
    fps: float
    frames: int
    width: int
    height: int
    def __init__(self, duration_s: _Optional[float] = ..., fps: _Optional[float] = ..., frames: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class PredictOptions(_message.Message):
    __slots__ = ("model", "mode", "window_s", "stride_s")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    STRIDE_S_FIELD_NUMBER: _ClassVar[int]
    model: str
    mode: str
    window_s: float
    stride_s: float
    def __init__(self, model: _Optional[str] = ..., mode: _Optional[str] = ..., window_s: _Optional[float] = ..., stride_s: _Optional[float] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("video", "filename", "options")
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    video: bytes
    filename: str
    options: PredictOptions
    def __init__(self, video: _Optional[bytes] = ..., filename: _Optional[str] = ..., options: _Optional[_Union[PredictOptions, _Mapping]] = ...) -> None: ...

class AppliedOptions(_message.Message):
    __slots__ = ("mode", "window_s", "stride_s")
    MODE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    STRIDE_S_FIELD_NUMBER: _ClassVar[int]
    mode: str
    window_s: float
    stride_s: float
    def __init__(self, mode: _Optional[str] = ..., window_s: _Optional[float] = ..., stride_s: _Optional[float] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("source", "labels", "label", "distribution", "main_track_id", "no_face", "partial", "faces", "model", "video", "timings_ms", "job_id", "options", "margin", "uncertain")
    class DistributionEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class TimingsMsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MAIN_TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    NO_FACE_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_MS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_FIELD_NUMBER: _ClassVar[int]
    source: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    label: str
    distribution: _containers.ScalarMap[str, float]
    main_track_id: int
    no_face: bool
    partial: bool
    faces: _containers.RepeatedCompositeFieldContainer[Face]
    model: ModelInfo
    video: VideoInfo
    timings_ms: _containers.ScalarMap[str, float]
    job_id: str
    options: AppliedOptions
    margin: float
    uncertain: bool
    def __init__(self, source: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., label: _Optional[str] = ..., distribution: _Optional[_Mapping[str, float]] = ..., main_track_id: _Optional[int] = ..., no_face: _Optional[bool] = ..., partial: _Optional[bool] = ..., faces: _Optional[_Iterable[_Union[Face, _Mapping]]] = ..., model: _Optional[_Union[ModelInfo, _Mapping]] = ..., video: _Optional[_Union[VideoInfo, _Mapping]] = ..., timings_ms: _Optional[_Mapping[str, float]] = ..., job_id: _Optional[str] = ..., options: _Optional[_Union[AppliedOptions, _Mapping]] = ..., margin: _Optional[float] = ..., uncertain: _Optional[bool] = ...) -> None: ...

class StreamConfig(_message.Message):
    __slots__ = ("model", "window_s", "stride_s", "format")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    STRIDE_S_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    model: str
    window_s: float
    stride_s: float
    format: FrameFormat
    def __init__(self, model: _Optional[str] = ..., window_s: _Optional[float] = ..., stride_s: _Optional[float] = ..., format: _Optional[_Union[FrameFormat, str]] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("data", "time_s", "width", "height")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIME_S_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    time_s: float
    width: int
    height: int
    def __init__(self, data: _Optional[bytes] = ..., time_s: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("config", "frame")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    config: StreamConfig
    frame: Frame
    def __init__(self, config: _Optional[_Union[StreamConfig, _Mapping]] = ..., frame: _Optional[_Union[Frame, _Mapping]] = ...) -> None: ...

class FaceWindow(_message.Message):
    __slots__ = ("track_id", "box", "distribution", "label")
    class DistributionEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    track_id: int
    box: Box
    distribution: _containers.ScalarMap[str, float]
    label: str
    def __init__(self, track_id: _Optional[int] = ..., box: _Optional[_Union[Box, _Mapping]] = ..., distribution: _Optional[_Mapping[str, float]] = ..., label: _Optional[str] = ...) -> None: ...

class WindowResult(_message.Message):
    __slots__ = ("index", "start_s", "end_s", "faces", "labels")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    index: int
    start_s: float
    end_s: float
    faces: _containers.RepeatedCompositeFieldContainer[FaceWindow]
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, index: _Optional[int] = ..., start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., faces: _Optional[_Iterable[_Union[FaceWindow, _Mapping]]] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DevelopmentFigures(_message.Message):
    __slots__ = ("people", "photos", "accuracy", "macro_recall", "recall", "support", "ece", "ferplus_faces", "ferplus_accuracy", "ferplus_ece", "confidence")
    class RecallEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class SupportEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    PHOTOS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MACRO_RECALL_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_FIELD_NUMBER: _ClassVar[int]
    ECE_FIELD_NUMBER: _ClassVar[int]
    FERPLUS_FACES_FIELD_NUMBER: _ClassVar[int]
    FERPLUS_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    FERPLUS_ECE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    people: int
    photos: int
    accuracy: float
    macro_recall: float
    recall: _containers.ScalarMap[str, float]
    support: _containers.ScalarMap[str, int]
    ece: float
    ferplus_faces: int
    ferplus_accuracy: float
    ferplus_ece: float
    confidence: float
    def __init__(self, people: _Optional[int] = ..., photos: _Optional[int] = ..., accuracy: _Optional[float] = ..., macro_recall: _Optional[float] = ..., recall: _Optional[_Mapping[str, float]] = ..., support: _Optional[_Mapping[str, int]] = ..., ece: _Optional[float] = ..., ferplus_faces: _Optional[int] = ..., ferplus_accuracy: _Optional[float] = ..., ferplus_ece: _Optional[float] = ..., confidence: _Optional[float] = ...) -> None: ...

class ListedModel(_message.Message):
    __slots__ = ("name", "version", "kind", "is_default", "development")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    DEVELOPMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    kind: str
    is_default: bool
    development: DevelopmentFigures
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., kind: _Optional[str] = ..., is_default: _Optional[bool] = ..., development: _Optional[_Union[DevelopmentFigures, _Mapping]] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "model_dir", "card")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    MODEL_DIR_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ListedModel]
    model_dir: bool
    card: str
    def __init__(self, models: _Optional[_Iterable[_Union[ListedModel, _Mapping]]] = ..., model_dir: _Optional[bool] = ..., card: _Optional[str] = ...) -> None: ...
