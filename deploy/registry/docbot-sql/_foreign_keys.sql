-- Foreign keys, written by scripts/models-to-sql.
ALTER TABLE chats ADD CONSTRAINT fk_chats_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE;

ALTER TABLE chunks ADD CONSTRAINT fk_chunks_document_id_documents FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE;

ALTER TABLE chunks ADD CONSTRAINT fk_chunks_page_id_pages FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE SET NULL;

ALTER TABLE documents ADD CONSTRAINT fk_documents_owner_id_users FOREIGN KEY(owner_id) REFERENCES users (id) ON DELETE CASCADE;

ALTER TABLE figures ADD CONSTRAINT fk_figures_document_id_documents FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE;

ALTER TABLE figures ADD CONSTRAINT fk_figures_page_id_pages FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE SET NULL;

ALTER TABLE image_embeddings ADD CONSTRAINT fk_image_embeddings_figure_id_figures FOREIGN KEY(figure_id) REFERENCES figures (id) ON DELETE CASCADE;

ALTER TABLE messages ADD CONSTRAINT fk_messages_chat_id_chats FOREIGN KEY(chat_id) REFERENCES chats (id) ON DELETE CASCADE;

ALTER TABLE pages ADD CONSTRAINT fk_pages_document_id_documents FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE;

ALTER TABLE table_embeddings ADD CONSTRAINT fk_table_embeddings_table_id_tables FOREIGN KEY(table_id) REFERENCES tables (id) ON DELETE CASCADE;

ALTER TABLE tables ADD CONSTRAINT fk_tables_document_id_documents FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE;

ALTER TABLE tables ADD CONSTRAINT fk_tables_page_id_pages FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE SET NULL;

ALTER TABLE text_embeddings ADD CONSTRAINT fk_text_embeddings_chunk_id_chunks FOREIGN KEY(chunk_id) REFERENCES chunks (id) ON DELETE CASCADE;

ALTER TABLE tool_runs ADD CONSTRAINT fk_tool_runs_message_id_messages FOREIGN KEY(message_id) REFERENCES messages (id) ON DELETE CASCADE;

