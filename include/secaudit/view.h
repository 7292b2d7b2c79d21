/* view.h — normalisers: a service's view of a parsed document, where the syntax is generic
 * (OMERO's <property name= value=/> lists become a key → value map). A view's nodes live in
 * the document's arena and point into the same text, so positions stay exact. */
#ifndef SECAUDIT_VIEW_H
#define SECAUDIT_VIEW_H

#include "secaudit/doc.h"
#include "secaudit/parse.h"

/* Build the view of doc; *out is the view's root. 0, or -1 with err filled. */
typedef int (*sa_view_fn)(sa_doc *doc, sa_node **out, sa_perr *err);

typedef struct sa_view {
    const char *name;
    sa_view_fn fn;
    const char *summary;  /* one line for rules/README.md and `rules show` */
} sa_view;

/* The "nginx" view (view_nginx.c). */
int sa_view_nginx(sa_doc *doc, sa_node **out, sa_perr *err);

/* The view named name ("tree", "omero-config"), or NULL. */
const sa_view *sa_view_find(const char *name);

#endif
