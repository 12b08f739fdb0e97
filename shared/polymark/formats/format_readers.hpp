// The readers and writers of each format, behind import_annotations / export_annotations
// (formats.hpp). Internal to shared/polymark/formats.
#pragma once
#include "polymark/formats/formats.hpp"

namespace pm::formats {

Expected<Conversion> import_coco(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_coco(const Document& doc, const Task& task, const ExportOptions& options);

Expected<Conversion> import_cvat(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_cvat(const Document& doc, const Task& task, const ExportOptions& options);

Expected<Conversion> import_yolo(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_yolo(const Document& doc, const Task& task, const ExportOptions& options);

Expected<Conversion> import_labelme(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_labelme(const Document& doc, const Task& task, const ExportOptions& options);

Expected<Conversion> import_voc(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_voc(const Document& doc, const Task& task, const ExportOptions& options);

Expected<Conversion> import_mot(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_mot(const Document& doc, const Task& task, const ExportOptions& options);

Expected<Conversion> import_label_studio(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_label_studio(const Document& doc, const Task& task, const ExportOptions& options);

Expected<Conversion> import_via(const FileSet& files, const ImportOptions& options);
Expected<Exported> export_via(const Document& doc, const Task& task, const ExportOptions& options);

}  // namespace pm::formats
