/* The ipsec.conf lexer, private to the front end. */
#ifndef IPSEC_CONF_LEX_H
#define IPSEC_CONF_LEX_H

#include "conf.h"

struct conf_lexer;

struct conf_lexer *lex_open(const char *path, const struct conf_options *opts);
void lex_close(struct conf_lexer *lx);
/* The next token; strings stay valid until the next call. */
void lex_next(struct conf_lexer *lx, struct conf_token *t);
/* Skip to the end of the current statement (ipsecctl's findeol). */
void lex_skip_line(struct conf_lexer *lx);
/* Report "FILE: LINE: message" and count the error. */
void lex_error(struct conf_lexer *lx, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Report without counting (ipsecctl's yywarn and bare messages). */
void lex_message(struct conf_lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
unsigned lex_errors(const struct conf_lexer *lx);
int lex_include(struct conf_lexer *lx, const char *path);
void lex_set_macro(struct conf_lexer *lx, const char *name, const char *value);
/* The directory of the file being read ("." for stdin or text). */
const char *lex_dir(const struct conf_lexer *lx);
const char *lex_name(const struct conf_lexer *lx); /* the file being read */
const char *lex_keyword_name(enum conf_tok t);

#endif
